#pragma once
/// Helpers for the operators' tools tests (issue 15): a migrated database with a
/// configuration file, and the real binary run as a subcommand.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "pg_test_env.hpp"
#include "server_process.hpp"

namespace caliper_sessiond::testing {

/// A fresh database, migrated by the binary, and the configuration the subcommands read.
class operator_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    server_process::options o;
    o.database_url = env_->create_database("ops_tools");
    o.tls = false;
    url_ = o.database_url;
    config_ = std::make_unique<server_process>(o);
    const auto [rc, out] = tool("migrate");
    ASSERT_EQ(rc, 0) << out;
  }

  /// Runs `caliper-sessiond --config <file> <args>`; exit status and stdout (stderr to the log).
  /// `env`: variable assignments put before the command (CALIPER_<SECTION>_<KEY>=...).
  std::pair<int, std::string> tool(const std::string& args, const std::string& env = {}) const {
    return run_command(env + " " + std::string(CALIPER_BINARY) + " --config " + config_->config_path() + " " + args + " 2>>" +
                       config_->dir() + "/tool.log");
  }

  std::string tool_log() const {
    try {
      return read_file(config_->dir() + "/tool.log");
    } catch (const std::exception&) {
      return {};
    }
  }

  std::string scalar(const std::string& sql) const { return pg_test_env::scalar(url_, sql); }
  void exec(const std::string& sql) const { pg_test_env::query(url_, sql); }

  /// Stores a reject as the server would have, with a fixture of tests/fixtures/operators as raw.
  void insert_reject(const std::string& received_at, const std::string& reason, const std::string& fixture) const {
    const std::string raw = read_file(source_dir() + "/tests/fixtures/operators/" + fixture);
    exec("INSERT INTO caliper.rejected_events (received_at, source, reason, raw) VALUES ('" + received_at +
         "', 'learn-test', $r$" + reason + "$r$, $r$" + raw + "$r$)");
  }

  std::optional<pg_test_env> env_;
  std::string url_;
  std::unique_ptr<server_process> config_;
};

}  // namespace caliper_sessiond::testing
