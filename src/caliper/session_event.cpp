#include "caliper_sessiond/caliper/session_event.hpp"

namespace caliper_sessiond::caliper {

std::string_view to_string(session_action a) noexcept {
  switch (a) {
    case session_action::logged_in: return "LoggedIn";
    case session_action::logged_out: return "LoggedOut";
    case session_action::timed_out: return "TimedOut";
  }
  return "LoggedIn";
}

}  // namespace caliper_sessiond::caliper
