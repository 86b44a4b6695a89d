#include "caliper_sessiond/jose/claims.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace caliper_sessiond::jose {
namespace {

namespace od = simdjson::ondemand;

/// A NumericDate claim: absent, a number, or present but not a number (`invalid`).
struct numeric_date {
  bool present = false;
  bool invalid = false;
  double seconds = 0;
};

simdjson::error_code read_date(od::value& v, numeric_date& out) {
  out.present = true;
  od::json_type type;
  if (const auto e = v.type().get(type)) return e;
  if (type != od::json_type::number) {
    out.invalid = true;
    return simdjson::SUCCESS;
  }
  if (const auto e = v.get_double().get(out.seconds)) return e;
  out.invalid = !std::isfinite(out.seconds);
  return simdjson::SUCCESS;
}

/// actor.extensions["com.instructure.canvas"].root_account_uuid of one event, if a string.
std::optional<std::string> root_account(od::value& event) {
  std::string_view uuid;
  auto v = event.find_field_unordered("actor")
               .find_field_unordered("extensions")
               .find_field_unordered("com.instructure.canvas")
               .find_field_unordered("root_account_uuid");
  if (v.get_string().get(uuid) != simdjson::SUCCESS) return std::nullopt;
  return std::string(uuid);
}

}  // namespace

claims_result check_claims(std::string& claims, std::int64_t now_s, const std::vector<std::string>& allowed_accounts) {
  claims_result r;
  if (claims.capacity() < claims.size() + simdjson::SIMDJSON_PADDING) claims.reserve(claims.size() + simdjson::SIMDJSON_PADDING);
  thread_local od::parser parser;
  od::document doc;
  if (parser.iterate(claims.data(), claims.size(), claims.capacity()).get(doc)) return r;
  od::object root;
  if (doc.get_object().get(root)) return r;  // not an envelope: the parser's 400
  numeric_date exp, nbf;
  std::size_t events = 0, allowed = 0;
  std::string refused;
  for (auto field_result : root) {
    od::field field;
    if (std::move(field_result).get(field)) return r;  // broken JSON: the parser's 400
    const auto key = field.key();
    od::value& v = field.value();
    if (key == "exp" && !exp.present) {
      if (read_date(v, exp)) return r;
    } else if (key == "nbf" && !nbf.present) {
      if (read_date(v, nbf)) return r;
    } else if (key == "data" && !allowed_accounts.empty()) {
      od::array data;
      if (v.get_array().get(data)) return r;  // `data` not an array: the parser's 400
      for (auto item : data) {
        od::value event;
        if (std::move(item).get(event)) return r;
        ++events;
        const auto account = root_account(event);
        if (account && std::find(allowed_accounts.begin(), allowed_accounts.end(), *account) != allowed_accounts.end())
          ++allowed;
        else if (refused.empty())
          refused = account ? "root_account_uuid \"" + account->substr(0, 64) + "\" is not in allowed_accounts"
                            : std::string("an event carries no actor root_account_uuid");
      }
    }
  }
  const auto now = static_cast<double>(now_s);
  const auto leeway = static_cast<double>(time_leeway_seconds);
  if (exp.invalid || nbf.invalid) {
    r.verdict = claims_verdict::invalid_time;
    r.detail = "the JWT's exp or nbf is not a number";
  } else if (exp.present && now > exp.seconds + leeway) {
    r.verdict = claims_verdict::expired;
    r.detail = "the JWT expired " + std::to_string(static_cast<std::int64_t>(now - exp.seconds)) + " s ago";
  } else if (nbf.present && now < nbf.seconds - leeway) {
    r.verdict = claims_verdict::not_yet_valid;
    r.detail = "the JWT is not valid for another " + std::to_string(static_cast<std::int64_t>(nbf.seconds - now)) + " s";
  } else if (!allowed_accounts.empty() && allowed != events) {
    r.verdict = claims_verdict::account_not_allowed;
    r.detail = refused;
  }
  return r;
}

}  // namespace caliper_sessiond::jose
