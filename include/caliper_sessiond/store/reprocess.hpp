#pragma once
/// `caliper-sessiond reprocess-rejects`: the stored raw JSON of rejected events through the
/// parser again, after an upgrade closed a gap. Blocking; for the subcommand only.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "caliper_sessiond/caliper/parser.hpp"

namespace caliper_sessiond::store {

struct reprocess_options {
  std::optional<std::int64_t> since_us;  ///< only rejects received at or after (µs since the epoch)
  bool dry_run = false;                  ///< do every batch's work, then roll it back
  std::size_t batch_rows = 500;          ///< rejects per transaction
  caliper::privacy_options privacy;      ///< applied to the raw JSON of whole refused bodies kept
};

/// What the run did (a dry run: would have done).
struct reprocess_counts {
  std::uint64_t examined = 0;        ///< rejects looked at
  std::uint64_t reprocessed = 0;     ///< rejects that now parse: removed from the rejects
  std::uint64_t stored = 0;          ///< SessionEvents of those stored
  std::uint64_t duplicates = 0;      ///< SessionEvents of those already stored
  std::uint64_t still_rejected = 0;  ///< rejects kept with their new reason, plus new ones split from bodies
  std::uint64_t unchanged = 0;       ///< rejects not re-readable (database refusals), left as they are
};

struct reprocess_result {
  bool ok = false;
  reprocess_counts counts;  ///< of the batches committed (when !ok, the failed batch changed nothing)
  std::string error;
};

/// Called after every batch with the counts so far and the number of rejects to look at.
using reprocess_progress = std::function<void(const reprocess_counts&, std::uint64_t total)>;

/// Connects to `url` and takes the rejects present at the start (received at or after
/// since_us) in id order, batch_rows at a time, each batch in one transaction: the rejects
/// that now parse (with `parser`, received at their received_at, sent by their source) have
/// their SessionEvents inserted by the writer's statement (ON CONFLICT DO NOTHING) and are
/// deleted; the others get their new reason. Rows locked by another run are skipped.
/// When the database refuses an event, its batch is retried one reject per transaction and
/// that reject keeps the refusal as its reason.
reprocess_result reprocess_rejects(const std::string& url, caliper::envelope_parser& parser,
                                   const reprocess_options& options, const reprocess_progress& progress);

}  // namespace caliper_sessiond::store
