#include "caliper_sessiond/caliper/ids.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>

#include "caliper_sessiond/caliper/text.hpp"

namespace caliper_sessiond::caliper {
namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";

bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

std::string to_text(const std::uint8_t* b) {
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex_digits[b[i] >> 4]);
    out.push_back(hex_digits[b[i] & 0x0F]);
  }
  return out;
}

bool openssl_sha1(std::string_view prefix, std::string_view name, std::array<std::uint8_t, 20>& digest) {
  std::uint8_t out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  const bool ok = EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, prefix.data(), prefix.size()) == 1 &&
                  EVP_DigestUpdate(ctx, name.data(), name.size()) == 1 && EVP_DigestFinal_ex(ctx, out, &len) == 1 &&
                  len == digest.size();
  EVP_MD_CTX_free(ctx);
  if (ok) std::copy(out, out + digest.size(), digest.begin());
  return ok;
}

}  // namespace

std::optional<std::string> canonical_event_uuid(std::string_view id) {
  constexpr std::string_view urn = "urn:uuid:";
  if (id.size() == urn.size() + 36 && iequals_ascii(id.substr(0, urn.size()), urn)) id.remove_prefix(urn.size());
  if (id.size() != 36) return std::nullopt;
  std::string out(id);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (out[i] != '-') return std::nullopt;
      continue;
    }
    const int v = hex_value(out[i]);
    if (v < 0) return std::nullopt;
    out[i] = hex_digits[static_cast<std::size_t>(v)];
  }
  return out;
}

namespace detail {

std::optional<std::string> uuid_v5(sha1_function sha1, const std::array<std::uint8_t, 16>& ns, std::string_view name) {
  std::array<std::uint8_t, 20> digest{};
  const std::string_view prefix(reinterpret_cast<const char*>(ns.data()), ns.size());
  if (!sha1(prefix, name, digest)) return std::nullopt;
  digest[6] = static_cast<std::uint8_t>((digest[6] & 0x0F) | 0x50);  // version 5
  digest[8] = static_cast<std::uint8_t>((digest[8] & 0x3F) | 0x80);  // RFC 9562 variant
  return to_text(digest.data());
}

}  // namespace detail

std::optional<std::string> uuid_v5(const std::array<std::uint8_t, 16>& ns, std::string_view name) {
  return detail::uuid_v5(&openssl_sha1, ns, name);
}

std::optional<std::string> derived_event_id(std::string_view source, session_action action, std::string_view user_id,
                                            std::int64_t event_time_us, std::string_view object_id) {
  char time_buf[24];
  const auto [end, ec] = std::to_chars(time_buf, time_buf + sizeof time_buf, event_time_us);
  const std::string_view time_text(time_buf, ec == std::errc{} ? static_cast<std::size_t>(end - time_buf) : 0);
  const std::string_view label = to_string(action);
  std::string name;
  name.reserve(source.size() + label.size() + user_id.size() + time_text.size() + object_id.size() + 20);
  constexpr char sep = '\0';
  name.append(source).push_back(sep);
  name.append("SessionEvent").push_back(sep);
  name.append(label).push_back(sep);
  name.append(user_id).push_back(sep);
  name.append(time_text).push_back(sep);
  name.append(object_id);
  return uuid_v5(event_id_namespace, name);
}

}  // namespace caliper_sessiond::caliper
