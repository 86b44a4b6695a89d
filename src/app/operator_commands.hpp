#pragma once
/// The operators' subcommands reprocess-rejects and forget (issue 15): same configuration,
/// parser and writer statement as `serve`. Each returns its exit status (operator_args.hpp).

#include <span>
#include <string>

#include "caliper_sessiond/config/config.hpp"

namespace caliper_sessiond::app {

/// `reprocess-rejects [--since TIME] [--dry-run]`: prints the counts on stdout, progress on stderr.
int run_reprocess_rejects(const config::config& cfg, std::span<const std::string> args);

/// `forget --user ID [--dry-run]`: prints the counts on stdout; never logs the id.
int run_forget(const config::config& cfg, std::span<const std::string> args);

}  // namespace caliper_sessiond::app
