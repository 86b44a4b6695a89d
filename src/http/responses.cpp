#include "caliper_sessiond/http/responses.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <spdlog/spdlog.h>

#include <cctype>
#include <memory>

#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/caliper/versions.hpp"

namespace caliper_sessiond::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool sha256(std::string_view data, std::array<unsigned char, 32>& out) {
  // Once per request (the API key): EVP_Digest with EVP_sha256() looked the algorithm up and
  // made a context each time, allocations included. The algorithm is fetched once, and each
  // thread keeps one context.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct ctx_free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, ctx_free> ctx(EVP_MD_CTX_new());
  unsigned int len = 0;
  return md != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size();
}

std::string problem_json(int status, std::string_view title, std::string_view detail) {
  std::string out = R"({"type":"about:blank","title":)";
  caliper::append_json_string(out, title);
  out += R"(,"status":)" + std::to_string(status) + R"(,"detail":)";
  caliper::append_json_string(out, detail);
  out += "}";
  return out;
}

bool is_json_media_type(std::string_view content_type) {
  const auto semi = content_type.find(';');
  return iequals(trim(content_type.substr(0, semi)), "application/json");
}

key_ring::key_ring(const std::vector<config::api_key>& keys, digest_fn digest) : digest_(digest) {
  for (const auto& k : keys) {
    entry e{k.name, {}, false};
    e.usable = digest_(k.secret, e.digest);
    if (!e.usable) spdlog::error("auth: cannot compute the digest of API key {}: it will not be accepted", k.name);
    entries_.push_back(std::move(e));
  }
}

std::optional<std::string> key_ring::authenticate(std::string_view authorization) const {
  std::string_view presented = trim(authorization);
  if (presented.size() > 7 && iequals(presented.substr(0, 7), "bearer ")) presented = trim(presented.substr(7));
  if (presented.empty()) return std::nullopt;
  std::array<unsigned char, 32> digest{};
  if (!digest_(presented, digest)) return std::nullopt;  // never compare an unset digest
  const entry* match = nullptr;
  for (const auto& e : entries_) {
    // No early exit: every key costs the same, whichever matches.
    if (CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0 && e.usable) match = &e;
  }
  if (match == nullptr) return std::nullopt;
  return match->name;
}

std::string endpoint_config_json(std::size_t max_payload_bytes) {
  std::string out = R"({"caliper_maximum_payload_size":)" + std::to_string(max_payload_bytes) +
                    R"(,"caliper_supported_extensions":{"endpoint_name":"caliper-sessiond","endpoint_version":")" +
                    std::string(CALIPER_SESSIOND_VERSION) + R"("},"caliper_supported_versions":[)";
  for (const std::string_view v : caliper::supported_versions) {
    if (out.back() != '[') out += ',';
    caliper::append_json_string(out, v);
  }
  out += "]}";
  return out;
}

}  // namespace caliper_sessiond::http
