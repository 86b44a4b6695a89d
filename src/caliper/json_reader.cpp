#include "json_reader.hpp"

#include <cstring>
#include <utility>

#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/caliper/time.hpp"

namespace caliper_sessiond::caliper::detail {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

int hex4(std::string_view s, std::size_t i) noexcept {
  if (i + 4 > s.size()) return -1;
  int v = 0;
  for (std::size_t k = i; k < i + 4; ++k) {
    const int d = hex_value(s[k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// Reads a string member, first occurrence wins; non-strings are ignored.
error_code read_string_once(od::value& v, std::string_view& out, string_store& store) {
  if (!out.empty()) return SUCCESS;
  text_field t;
  if (const auto e = read_text(v, t, store)) return e;
  if (t.is_string()) out = t.value;
  return SUCCESS;
}

/// `id`/`@id`, `type`/`@type`: the keys of both JSON-LD spellings.
bool is_id_key(const od::raw_json_string& k) noexcept { return k == "id" || k == "@id"; }
bool is_type_key(const od::raw_json_string& k) noexcept { return k == "type" || k == "@type"; }

error_code read_canvas_extensions(od::value& v, extension_fields& ext, string_store& store) {
  od::json_type t;
  if (const auto e = v.type().get(t)) return e;
  if (t != od::json_type::object) return SUCCESS;
  od::object obj;
  if (const auto e = v.get_object().get(obj)) return e;
  for (auto field_result : obj) {
    od::field field;
    if (const auto e = std::move(field_result).get(field)) return e;
    const auto key = field.key();
    error_code e = SUCCESS;
    if (key == "user_sis_id") e = read_string_once(field.value(), ext.canvas_sis_id, store);
    else if (key == "client_ip") e = read_string_once(field.value(), ext.canvas_client_ip, store);
    else if (key == "user_agent") e = read_string_once(field.value(), ext.canvas_user_agent, store);
    if (e) return e;
  }
  return SUCCESS;
}

error_code read_extensions(od::value& v, extension_fields& ext, string_store& store) {
  od::json_type t;
  if (const auto e = v.type().get(t)) return e;
  if (t != od::json_type::object) return SUCCESS;  // tolerated: extensions are free-form
  od::object obj;
  if (const auto e = v.get_object().get(obj)) return e;
  for (auto field_result : obj) {
    od::field field;
    if (const auto e = std::move(field_result).get(field)) return e;
    const auto key = field.key();
    error_code e = SUCCESS;
    if (key == "bb:request.headers.agent") e = read_string_once(field.value(), ext.bb_agent, store);
    else if (key == "bb:request.headers.ipAddress") e = read_string_once(field.value(), ext.bb_ip, store);
    else if (key == "bb:user.id") e = read_string_once(field.value(), ext.bb_user_id, store);
    else if (key == "bb:user.externalId") e = read_string_once(field.value(), ext.bb_external_id, store);
    else if (key == "com.instructure.canvas") e = read_canvas_extensions(field.value(), ext, store);
    if (e) return e;
  }
  return SUCCESS;
}

/// The JSON type of `v` as a presence; for strings also reads the string.
error_code classify(od::value& v, presence& state, std::string_view& iri, string_store& store) {
  text_field t;
  if (const auto e = read_text(v, t, store)) return e;
  state = t.state;
  if (t.is_string()) iri = t.value;
  return SUCCESS;
}

error_code read_ref(od::value& v, ref_fields& out, string_store& store) {
  if (out.state != presence::absent) return SUCCESS;
  if (const auto e = classify(v, out.state, out.id, store)) return e;
  if (out.state != presence::object) return SUCCESS;
  od::object obj;
  if (const auto e = v.get_object().get(obj)) return e;
  for (auto field_result : obj) {
    od::field field;
    if (const auto e = std::move(field_result).get(field)) return e;
    const auto key = field.key();
    error_code e = SUCCESS;
    if (is_id_key(key)) e = read_string_once(field.value(), out.id, store);
    else if (is_type_key(key)) e = read_string_once(field.value(), out.type, store);
    else if (key == "userAgent") e = read_string_once(field.value(), out.user_agent, store);
    else if (key == "ipAddress") e = read_string_once(field.value(), out.ip_address, store);
    else if (key == "extensions") e = read_extensions(field.value(), out.ext, store);
    if (e) return e;
  }
  return SUCCESS;
}

/// Checks a Session date-time or duration member; records the first malformed one.
error_code check_session_time(od::value& v, bool duration, const char* what, entity_fields& out,
                              string_store& store) {
  text_field t;
  if (const auto e = read_text(v, t, store)) return e;
  if (t.state == presence::null || out.malformed != nullptr) return SUCCESS;
  const bool ok = t.is_string() && (duration ? is_iso8601_duration(t.value) : parse_rfc3339_us(t.value).has_value());
  if (!ok) out.malformed = what;
  return SUCCESS;
}

error_code read_entity(od::value& v, entity_fields& out, string_store& store) {
  if (out.state != presence::absent) return SUCCESS;  // first occurrence wins
  if (const auto e = classify(v, out.state, out.id, store)) return e;
  if (out.state != presence::object) return SUCCESS;
  od::object obj;
  if (const auto e = v.get_object().get(obj)) return e;
  for (auto field_result : obj) {
    od::field field;
    if (const auto e = std::move(field_result).get(field)) return e;
    const auto key = field.key();
    od::value& fv = field.value();
    error_code e = SUCCESS;
    if (is_id_key(key)) e = read_string_once(fv, out.id, store);
    else if (is_type_key(key)) e = read_string_once(fv, out.type, store);
    else if (key == "name") e = read_string_once(fv, out.name, store);
    else if (key == "user") e = read_ref(fv, out.user, store);
    else if (key == "actor") e = read_ref(fv, out.actor, store);
    else if (key == "client") e = read_ref(fv, out.client, store);
    else if (key == "extensions") e = read_extensions(fv, out.ext, store);
    else if (key == "startedAtTime") e = check_session_time(fv, false, "startedAtTime is not an RFC 3339 date-time", out, store);
    else if (key == "endedAtTime") e = check_session_time(fv, false, "endedAtTime is not an RFC 3339 date-time", out, store);
    else if (key == "duration") e = check_session_time(fv, true, "duration is not an ISO 8601 duration", out, store);
    if (e) return e;
  }
  return SUCCESS;
}

error_code read_text_once(od::value& v, text_field& out, string_store& store) {
  if (out.state != presence::absent) return SUCCESS;
  return read_text(v, out, store);
}

}  // namespace

bool decode_json_string_lenient(std::string_view token, std::string& out) {
  out.clear();
  if (token.empty() || token[0] != '"') return false;
  std::size_t i = 1;
  while (i < token.size()) {
    const char c = token[i];
    if (c == '"') return true;
    if (c != '\\') {
      if (c == '\0') out.append(replacement_character);
      else out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= token.size()) return false;
    const char esc = token[i + 1];
    i += 2;
    switch (esc) {
      case '"': out.push_back('"'); continue;
      case '\\': out.push_back('\\'); continue;
      case '/': out.push_back('/'); continue;
      case 'b': out.push_back('\b'); continue;
      case 'f': out.push_back('\f'); continue;
      case 'n': out.push_back('\n'); continue;
      case 'r': out.push_back('\r'); continue;
      case 't': out.push_back('\t'); continue;
      case 'u': break;
      default: return false;
    }
    const int cp = hex4(token, i);
    if (cp < 0) return false;
    i += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      const int low = i + 1 < token.size() && token[i] == '\\' && token[i + 1] == 'u' ? hex4(token, i + 2) : -1;
      if (low >= 0xDC00 && low <= 0xDFFF) {
        append_utf8(out, 0x10000U + ((static_cast<std::uint32_t>(cp) - 0xD800U) << 10) +
                             (static_cast<std::uint32_t>(low) - 0xDC00U));
        i += 6;
      } else {
        out.append(replacement_character);
      }
    } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
      out.append(replacement_character);
    } else {
      append_utf8(out, static_cast<std::uint32_t>(cp));
    }
  }
  return false;
}

error_code read_text(od::value& v, text_field& out, string_store& store) {
  od::json_type t;
  if (const auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::string: break;
    case od::json_type::null: out.state = presence::null; return SUCCESS;
    case od::json_type::object: out.state = presence::object; return SUCCESS;
    default: out.state = presence::other; return SUCCESS;
  }
  const std::string_view token = v.raw_json_token();
  std::string_view s;
  const error_code e = v.get_string().get(s);
  if (e == simdjson::STRING_ERROR) {
    // simdjson refuses lone surrogates; keep the text with U+FFFD instead of losing the event.
    std::string decoded;
    if (!decode_json_string_lenient(token, decoded)) return e;
    s = store.keep(std::move(decoded));
  } else if (e) {
    return e;
  } else if (std::memchr(s.data(), 0, s.size()) != nullptr) {
    s = store.keep(sanitize_text(s));
  }
  out.state = presence::string;
  out.value = s;
  return SUCCESS;
}

error_code read_event(od::object& obj, event_fields& out, string_store& store) {
  for (auto field_result : obj) {
    od::field field;
    if (const auto e = std::move(field_result).get(field)) return e;
    const auto key = field.key();
    od::value& v = field.value();
    error_code e = SUCCESS;
    if (is_id_key(key)) e = read_text_once(v, out.id, store);
    else if (key == "action") e = read_text_once(v, out.action, store);
    else if (key == "eventTime") e = read_text_once(v, out.event_time, store);
    else if (key == "actor") e = read_entity(v, out.actor, store);
    else if (key == "object") e = read_entity(v, out.object, store);
    else if (key == "target") e = read_entity(v, out.target, store);
    else if (key == "referrer") e = read_entity(v, out.referrer, store);
    else if (key == "generated") e = read_entity(v, out.generated, store);
    else if (key == "edApp") e = read_entity(v, out.ed_app, store);
    else if (key == "session") e = read_entity(v, out.session, store);
    else if (key == "federatedSession") e = read_entity(v, out.federated_session, store);
    else if (key == "extensions") e = read_extensions(v, out.ext, store);
    if (e) return e;
  }
  return SUCCESS;
}

}  // namespace caliper_sessiond::caliper::detail
