#include "reprocess_plan.hpp"

#include <utility>

#include "caliper_sessiond/caliper/time.hpp"

namespace caliper_sessiond::store {

raw_kind kind_of_reject(std::string_view reason) noexcept {
  if (reason.starts_with("database refused")) return raw_kind::row;
  const bool status = reason.size() > 4 && reason[3] == ' ' && reason[0] >= '1' && reason[0] <= '5' &&
                      reason[1] >= '0' && reason[1] <= '9' && reason[2] >= '0' && reason[2] <= '9';
  return status ? raw_kind::envelope : raw_kind::event;
}

std::string reprocess_body(raw_kind kind, std::string_view raw, std::int64_t received_at_us) {
  if (kind == raw_kind::envelope) return std::string(raw);
  // format_timestamp_us writes PostgreSQL's "2024-03-01 12:00:00+00": sendTime gets RFC 3339.
  std::string sent = caliper::format_timestamp_us(received_at_us);
  if (sent.size() > 10 && sent[10] == ' ') sent[10] = 'T';
  if (sent.ends_with("+00")) sent.replace(sent.size() - 3, 3, "Z");
  std::string body = R"({"sensor":")";
  body.append(reprocess_sensor).append(R"(","sendTime":")").append(sent);
  body.append(R"(","data":[)").append(raw).append("]}");
  return body;
}

reprocess_decision judge_reparse(raw_kind kind, std::string_view raw, caliper::parse_result& result) {
  reprocess_decision d;
  if (kind == raw_kind::row) return d;
  if (result.error) {
    if (result.error->status == 503) {
      d.verdict = reprocess_verdict::retry;
      return d;
    }
    // An envelope's reason is worded as the server words a refused request (http refuse());
    // a lone event's must not start with a status, or it would be read as an envelope next time.
    d.verdict = reprocess_verdict::rejected;
    d.reason = (kind == raw_kind::envelope ? std::to_string(result.error->status) + " " : std::string("event JSON: ")) +
               result.error->title + ": " + result.error->detail;
    d.raw = std::string(raw);
    return d;
  }
  if (kind == raw_kind::envelope) {
    d.verdict = reprocess_verdict::parsed;
    return d;
  }
  if (result.events.size() == 1 && result.rejects.empty()) {
    d.verdict = reprocess_verdict::parsed;
  } else if (result.rejects.size() == 1 && result.events.empty()) {
    d.verdict = reprocess_verdict::rejected;
    d.reason = std::move(result.rejects.front().reason);
    d.raw = std::move(result.rejects.front().raw);
  }
  return d;
}

}  // namespace caliper_sessiond::store
