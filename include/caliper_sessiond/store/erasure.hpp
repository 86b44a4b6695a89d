#pragma once
/// Erasure on request (GDPR art. 17): `caliper-sessiond forget --user ID`. Blocking; for the
/// subcommand, not for the server's threads.

#include <cstdint>
#include <string>

namespace caliper_sessiond::store {

/// Rows erased (or, in a dry run, that would be).
struct erasure_counts {
  std::uint64_t users = 0;  ///< distinct user IRIs whose rows matched
  std::uint64_t events = 0;
  std::uint64_t sessions = 0;
  std::uint64_t rejects = 0;
  std::uint64_t actors_masked = 0;  ///< events of other users whose actor was the person, masked
};

struct erasure_result {
  bool ok = false;
  erasure_counts counts;
  std::string error;  ///< when !ok: nothing was changed
  /// After the commit: the person's IRIs deleted from caliper.texts now (the others are owed, for
  /// maintenance: a writer may still hold their keys, or events stored since use them).
  std::uint64_t texts_deleted = 0;
  std::string texts_note;  ///< why none could be deleted now (an error), "" otherwise
};

/// In one transaction on `url`: finds the person `user` names (a user IRI, a `bb:user.id` or
/// an external id: the IRIs of the events whose user_id, user_lms_id or user_external_id
/// equals it, and `user` itself), deletes their SessionEvents (every
/// partition), their sessions (by user, and those the deleted events belonged to) and the
/// rejects whose raw JSON holds one of those ids as a JSON string, then records the counts and
/// caliper.erasure_hash(user) in caliper.erasures (sql/007_erasures.sql). The person as the
/// actor of other users' events is masked ('urn:caliper-sessiond:erased'). After the commit,
/// the person's IRIs are deleted from caliper.texts where no server may still hold their keys
/// (the others are owed: caliper.forget_texts, sql/012). `dry_run`: the same work, rolled back
/// (exact counts, no change, no record).
erasure_result forget_user(const std::string& url, const std::string& user, bool dry_run);

}  // namespace caliper_sessiond::store
