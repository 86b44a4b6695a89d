#pragma once
/// The parser's limits from the [ingest] settings: one mapping for `serve` and `import`.

#include "caliper_sessiond/caliper/session_event.hpp"
#include "caliper_sessiond/config/config.hpp"

namespace caliper_sessiond::config {

/// The caliper::parse_limits that the [ingest] settings `cfg` stand for.
inline caliper::parse_limits parse_limits_of(const ingest_config& cfg) {
  caliper::parse_limits limits;
  limits.max_events = cfg.max_events;
  limits.max_depth = cfg.max_depth;
  limits.max_raw_bytes = cfg.reject_raw_bytes;
  limits.event_time_past_days = cfg.event_time_past_days;
  limits.event_time_future_seconds = cfg.event_time_future_seconds;
  limits.max_id_bytes = cfg.max_id_bytes;
  limits.max_user_agent_bytes = cfg.max_user_agent_bytes;
  return limits;
}

}  // namespace caliper_sessiond::config
