#include "sqlstate.hpp"

namespace caliper_sessiond::store::pg {
namespace {

bool in_class(std::string_view sqlstate, std::string_view cls) noexcept {
  return sqlstate.size() == 5 && sqlstate.substr(0, 2) == cls;
}

}  // namespace

error_action classify(std::string_view sqlstate, bool connection_ok) noexcept {
  // A dead connection trumps any code: whatever the statement did, only a new one can go on.
  if (!connection_ok || sqlstate.empty()) return error_action::reconnect;
  if (in_class(sqlstate, "08")) return error_action::reconnect;  // connection exception
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03")  // admin/crash shutdown,
    return error_action::reconnect;                                     // cannot connect now
  if (sqlstate == "40001" || sqlstate == "40P01") return error_action::retry;
  if (sqlstate == "57014" || sqlstate == "55P03") return error_action::retry;  // canceled, lock
  if (in_class(sqlstate, "53")) return error_action::reconnect;  // out of disk/memory/slots
  if (in_class(sqlstate, "22") || in_class(sqlstate, "23")) return error_action::reject;
  // 54000 program_limit_exceeded: a value (or the whole batch) too large; bisecting finds which.
  if (in_class(sqlstate, "54")) return error_action::reject;
  return error_action::fail;
}

std::string_view to_string(error_action a) noexcept {
  switch (a) {
    case error_action::retry: return "retry";
    case error_action::reconnect: return "reconnect";
    case error_action::reject: return "reject";
    case error_action::fail: return "fail";
  }
  return "fail";
}

}  // namespace caliper_sessiond::store::pg
