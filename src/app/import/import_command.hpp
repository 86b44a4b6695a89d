#pragma once
/// `caliper-sessiond import [--source NAME] [--progress-interval SECONDS] FILE...`: backfills
/// SessionEvents from archives through the same parser and writer as `serve` (README
/// "Operators' tools"). Exit statuses: 0 every file imported; 1 a file could not be read or
/// split as a whole (the others were imported); 2 usage; 3 the events could not be stored
/// (database unreachable or not migrated, a batch not committed in time, no event id
/// derivable): the import stops; run it again, it is idempotent.

#include <string>
#include <vector>

#include "caliper_sessiond/config/config.hpp"
#include "caliper_sessiond/store/batch_writer.hpp"

namespace caliper_sessiond::app {

/// Runs the import of `args` (what follows `import` on the command line). The summary line
/// goes to stdout; progress and problems to stderr.
int run_import(const config::config& cfg, store::writer_options writer, const std::vector<std::string>& args);

}  // namespace caliper_sessiond::app
