// caliper-sessiond reprocess-rejects: wiring of configuration, parser and store.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "caliper_sessiond/caliper/parser.hpp"
#include "caliper_sessiond/config/parse_limits.hpp"
#include "caliper_sessiond/store/reprocess.hpp"
#include "operator_args.hpp"
#include "operator_commands.hpp"

namespace caliper_sessiond::app {
namespace {

/// A progress line on stderr every few seconds of a long run.
constexpr std::chrono::seconds progress_every{5};
/// A batch holds at most this much raw JSON in memory (rows x ingest.reject_raw_bytes).
constexpr std::size_t batch_raw_budget = 64u << 20;

std::string summary(const store::reprocess_counts& c) {
  std::string s = std::to_string(c.reprocessed) + " reprocessed, " + std::to_string(c.stored) + " stored, " +
                  std::to_string(c.duplicates) + " duplicates, " + std::to_string(c.still_rejected) + " still rejected";
  if (c.unchanged != 0) s += ", " + std::to_string(c.unchanged) + " left as they were (not re-readable)";
  return s;
}

}  // namespace

int run_reprocess_rejects(const config::config& cfg, std::span<const std::string> args) {
  std::string error;
  const auto parsed = parse_reprocess_args(args, error);
  if (!parsed) {
    std::fprintf(stderr, "caliper-sessiond: %s\n", error.c_str());
    return exit_usage;
  }
  // The parser exactly as `serve` builds it: same [ingest] limits, same [privacy] modes.
  caliper::envelope_parser parser(config::parse_limits(cfg.ingest, cfg.privacy));
  store::reprocess_options options;
  options.since_us = parsed->since_us;
  options.dry_run = parsed->dry_run;
  options.batch_rows =
      std::clamp<std::size_t>(batch_raw_budget / std::max<std::size_t>(cfg.ingest.reject_raw_bytes, 1), 1,
                              cfg.database.batch_max_events);
  options.privacy = config::privacy_options(cfg.privacy);
  auto last = std::chrono::steady_clock::now();
  const auto progress = [&last](const store::reprocess_counts& c, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < progress_every) return;
    last = now;
    spdlog::info("reprocess-rejects: {} of {} rejects looked at: {}", c.examined, total, summary(c));
  };
  const auto result = store::reprocess_rejects(cfg.database.url, parser, options, progress);
  const char* prefix = parsed->dry_run ? "dry run, nothing changed: would be " : "";
  if (!result.ok) {
    spdlog::error("reprocess-rejects: {}", result.error);
    std::printf("%sbefore the error: %s\n", prefix, summary(result.counts).c_str());
    return exit_failed;
  }
  std::printf("%s%s\n", prefix, summary(result.counts).c_str());
  return exit_done;
}

}  // namespace caliper_sessiond::app
