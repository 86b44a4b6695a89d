#pragma once
/// Schema migrations: the numbered files of `sql/`, compiled into the binary.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caliper_sessiond::store {

struct migration {
  int version;
  std::string_view name;  ///< file name, e.g. "001_init.sql"
  std::string_view sql;
};

/// Every migration in `sql/`, in version order.
const std::vector<migration>& migrations();

struct migrate_result {
  bool ok = false;
  std::vector<int> applied;  ///< versions applied by this call
  std::string error;         ///< set when !ok
};

/// Applies the missing migrations in order, each in its own transaction, under an advisory
/// lock so that two processes never race. Safe to run again.
migrate_result migrate(const std::string& database_url);

/// A version read from caliper.schema_migrations (decimal text, all of it), or nullopt.
std::optional<int> parse_migration_version(std::string_view text) noexcept;

}  // namespace caliper_sessiond::store
