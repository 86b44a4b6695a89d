#include "caliper_sessiond/caliper/session_event.hpp"

#include "caliper_sessiond/caliper/text.hpp"

namespace caliper_sessiond::caliper {

std::string_view to_string(session_action a) noexcept {
  switch (a) {
    case session_action::logged_in: return "LoggedIn";
    case session_action::logged_out: return "LoggedOut";
    case session_action::timed_out: return "TimedOut";
  }
  return "LoggedIn";
}

rejected_event rejected_request(int status, std::string_view title, std::string_view detail, std::string_view body,
                                std::size_t max_raw_bytes, const privacy_options& privacy) {
  std::string reason = std::to_string(status);
  reason.append(" ").append(title).append(": ").append(detail);
  // A few bytes over the limit, so that sanitize_text can tell where a cut character ends.
  const std::string_view head = body.substr(0, max_raw_bytes + 4);
  if (privacy.scrubs()) return {std::move(reason), sanitize_text(scrub_raw(head, privacy), max_raw_bytes)};
  return {std::move(reason), sanitize_text(head, max_raw_bytes)};
}

}  // namespace caliper_sessiond::caliper
