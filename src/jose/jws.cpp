#include "caliper_sessiond/jose/jws.hpp"

#include <cjose/base64.h>
#include <cjose/header.h>
#include <cjose/jwk.h>
#include <cjose/jws.h>
#include <cjose/util.h>
#include <jansson.h>

#include <algorithm>
#include <map>

namespace caliper_sessiond::jose {
namespace {

constexpr std::string_view required_alg = "RS256";

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

struct json_deleter {
  void operator()(json_t* j) const { json_decref(j); }
};
using json_ptr = std::unique_ptr<json_t, json_deleter>;

struct jwk_deleter {
  void operator()(cjose_jwk_t* k) const { cjose_jwk_release(k); }
};
struct jws_deleter {
  void operator()(cjose_jws_t* j) const { cjose_jws_release(j); }
};

/// A string member of a JSON object, or "" when it is absent or not a string.
std::string member(const json_t* object, const char* name) {
  const json_t* v = json_object_get(object, name);
  return json_is_string(v) ? std::string(json_string_value(v), json_string_length(v)) : std::string{};
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  return out + (s.size() > 40 ? "…\"" : "\"");
}

}  // namespace

bool looks_like_compact_jws(std::string_view body) {
  body = trim(body);
  std::size_t dots = 0, segment = 0;
  for (const char c : body) {
    if (c == '.') {
      if (segment == 0) return false;
      ++dots;
      segment = 0;
    } else if (is_base64url(c)) {
      ++segment;
    } else {
      return false;
    }
  }
  return dots == 2 && segment > 0;
}

header_result read_header(std::string_view body) {
  header_result r;
  const auto fail = [&r](failure f, std::string detail) {
    r.error = f;
    r.detail = std::move(detail);
    return r;
  };
  if (!looks_like_compact_jws(body)) return fail(failure::malformed, "the body is not a compact JWS");
  r.jws.token = std::string(trim(body));
  const std::string_view token = r.jws.token;
  const auto header_b64 = token.substr(0, token.find('.'));
  uint8_t* raw = nullptr;
  std::size_t raw_len = 0;
  if (!cjose_base64url_decode(header_b64.data(), header_b64.size(), &raw, &raw_len, nullptr))
    return fail(failure::malformed, "the JWS header is not base64url");
  json_error_t parse_error;
  // Repeated members refused: another parser could read a second "alg" where we read the first.
  json_ptr header(json_loadb(reinterpret_cast<const char*>(raw), raw_len, JSON_REJECT_DUPLICATES, &parse_error));
  cjose_get_dealloc()(raw);
  if (!header || !json_is_object(header.get()))
    return fail(failure::malformed, "the JWS header is not a JSON object with distinct members");
  if (json_object_get(header.get(), "crit") != nullptr)
    return fail(failure::malformed, "the JWS header has crit extensions, which are not supported");
  r.jws.alg = member(header.get(), "alg");
  r.jws.kid = member(header.get(), "kid");
  if (r.jws.alg != required_alg)
    return fail(failure::wrong_alg, "the JWS alg is " + (r.jws.alg.empty() ? std::string("missing") : quoted(r.jws.alg)) +
                                        ": only RS256 is accepted");
  if (r.jws.kid.empty()) return fail(failure::unknown_kid, "the JWS header has no kid");
  return r;
}

struct key_set::impl {
  std::map<std::string, std::unique_ptr<cjose_jwk_t, jwk_deleter>, std::less<>> keys;
};

key_set::key_set(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
key_set::~key_set() = default;

std::shared_ptr<const key_set> key_set::parse(std::string_view jwks, std::string& error) {
  json_error_t parse_error;
  json_ptr root(json_loadb(jwks.data(), jwks.size(), 0, &parse_error));
  const json_t* keys = root ? json_object_get(root.get(), "keys") : nullptr;
  if (!json_is_array(keys)) {
    error = root ? "the JWKS has no keys array" : std::string("the JWKS is not JSON: ") + parse_error.text;
    return nullptr;
  }
  auto set = std::make_unique<impl>();
  std::size_t skipped = 0;
  for (std::size_t n = 0; n < json_array_size(keys); ++n) {
    json_t* k = json_array_get(keys, n);
    const std::string kid = member(k, "kid"), alg = member(k, "alg"), use = member(k, "use");
    // Only keys meant for RS256 signatures: a key published for another alg is never used for this one.
    const bool usable = json_is_object(k) && member(k, "kty") == "RSA" && !kid.empty() &&
                        (json_object_get(k, "alg") == nullptr || alg == required_alg) &&
                        (json_object_get(k, "use") == nullptr || use == "sig") && !set->keys.contains(kid);
    cjose_jwk_t* jwk = usable ? cjose_jwk_import_json(k, nullptr) : nullptr;
    if (jwk == nullptr || cjose_jwk_get_kty(jwk, nullptr) != CJOSE_JWK_KTY_RSA) {
      if (jwk != nullptr) cjose_jwk_release(jwk);
      ++skipped;
      continue;
    }
    set->keys.emplace(kid, jwk);
  }
  if (set->keys.empty()) {
    error = "the JWKS holds no usable RS256 key (" + std::to_string(skipped) + " skipped)";
    return nullptr;
  }
  return std::shared_ptr<const key_set>(new key_set(std::move(set)));
}

bool key_set::has(std::string_view kid) const { return impl_->keys.find(kid) != impl_->keys.end(); }

std::size_t key_set::size() const { return impl_->keys.size(); }

std::string key_set::kids() const {
  std::string out;
  for (const auto& [kid, key] : impl_->keys) out += (out.empty() ? "" : ",") + kid;
  return out;
}

verify_result key_set::verify(const compact_jws& jws, std::size_t claims_padding) const {
  verify_result r;
  const auto fail = [&r](failure f, std::string detail) {
    r.error = f;
    r.detail = std::move(detail);
    return r;
  };
  const auto key = impl_->keys.find(jws.kid);
  if (key == impl_->keys.end()) return fail(failure::unknown_kid, "no key has kid " + quoted(jws.kid));
  std::unique_ptr<cjose_jws_t, jws_deleter> parsed(cjose_jws_import(jws.token.data(), jws.token.size(), nullptr));
  if (!parsed) return fail(failure::malformed, "the JWS could not be decoded");
  // cjose verifies with the alg of the header it parsed itself: it must be the one we checked.
  const char* alg = cjose_header_get(cjose_jws_get_protected(parsed.get()), CJOSE_HDR_ALG, nullptr);
  if (alg == nullptr || std::string_view(alg) != required_alg)
    return fail(failure::wrong_alg, "the JWS alg is not RS256");
  if (!cjose_jws_verify(parsed.get(), key->second.get(), nullptr))
    return fail(failure::bad_signature, "the RS256 signature does not verify with key " + quoted(jws.kid));
  uint8_t* payload = nullptr;
  std::size_t payload_len = 0;
  if (!cjose_jws_get_plaintext(parsed.get(), &payload, &payload_len, nullptr))
    return fail(failure::malformed, "the JWS payload could not be read");
  r.claims.reserve(payload_len + claims_padding);
  r.claims.assign(reinterpret_cast<const char*>(payload), payload_len);
  return r;
}

}  // namespace caliper_sessiond::jose
