#pragma once
/// The arguments of the operators' subcommands reprocess-rejects and forget (issue 15).
/// Pure, so that tests can check them without the binary.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace caliper_sessiond::app {

/// `reprocess-rejects [--since TIME] [--dry-run]`; TIME is RFC 3339 (2024-03-01T00:00:00Z).
struct reprocess_args {
  std::optional<std::int64_t> since_us;
  bool dry_run = false;
};

/// `forget --user ID [--dry-run]`.
struct forget_args {
  std::string user;
  bool dry_run = false;
};

/// nullopt with `error` set when the arguments are wrong (exit status 2).
std::optional<reprocess_args> parse_reprocess_args(std::span<const std::string> args, std::string& error);
std::optional<forget_args> parse_forget_args(std::span<const std::string> args, std::string& error);

/// Exit statuses of the operators' subcommands (README "Operators' tools").
inline constexpr int exit_done = 0;     ///< finished (a dry run too; rows still rejected are no failure)
inline constexpr int exit_failed = 1;   ///< configuration or database error; the failed transaction changed nothing
inline constexpr int exit_usage = 2;    ///< wrong arguments

}  // namespace caliper_sessiond::app
