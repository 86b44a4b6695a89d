#pragma once
/// The parser's settings from the configuration: [ingest] limits and [privacy] modes. The one
/// mapping used by `serve` and by the operators' subcommands, so they parse alike.
/// Header-only: the config library itself does not depend on the caliper module.

#include "caliper_sessiond/caliper/session_event.hpp"
#include "caliper_sessiond/config/config.hpp"

namespace caliper_sessiond::config {

/// [privacy] as the parser applies it (validated names; anything else counts as "full").
inline caliper::privacy_options privacy_options(const privacy_config& p) {
  caliper::privacy_options o;
  if (p.ip_address == "truncate") o.ip_address = caliper::ip_privacy::truncate;
  else if (p.ip_address == "drop") o.ip_address = caliper::ip_privacy::drop;
  if (p.user_agent == "drop") o.user_agent = caliper::user_agent_privacy::drop;
  return o;
}

/// Everything the parser takes from a configuration.
inline caliper::parse_limits parse_limits(const ingest_config& i, const privacy_config& p) {
  caliper::parse_limits limits;
  limits.max_events = i.max_events;
  limits.max_depth = i.max_depth;
  limits.max_raw_bytes = i.reject_raw_bytes;
  limits.event_time_past_days = i.event_time_past_days;
  limits.event_time_future_seconds = i.event_time_future_seconds;
  limits.max_id_bytes = i.max_id_bytes;
  limits.max_user_agent_bytes = i.max_user_agent_bytes;
  limits.privacy = privacy_options(p);
  return limits;
}

}  // namespace caliper_sessiond::config
