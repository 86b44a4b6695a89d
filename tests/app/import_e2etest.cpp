// `caliper-sessiond import` (issue 15 item 1): the real binary against a real PostgreSQL, one
// format or behaviour per test, with the files of tests/fixtures/import.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "pg_test_env.hpp"
#include "server_process.hpp"

using namespace caliper_sessiond::testing;
namespace fs = std::filesystem;

namespace {

struct import_run {
  int status = -1;
  std::string out;  ///< stdout: the summary line
  std::string err;  ///< stderr: progress and problems
};

std::string binary() {
  const char* b = std::getenv("CALIPER_TEST_BINARY");
  return b != nullptr && *b != '\0' ? b : CALIPER_BINARY;
}

std::string fixture(const std::string& name) { return source_dir() + "/tests/fixtures/import/" + name; }

class import_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    url_ = env_->create_database("import");
    dir_ = fs::temp_directory_path() / ("caliper-import-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    write_config("");
    const auto [rc, out] = run_command(binary() + " --config " + config() + " migrate 2>&1");
    ASSERT_EQ(rc, 0) << out;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  /// The configuration `serve` would read, plus `server_extra` in [server].
  void write_config(const std::string& server_extra) {
    std::ofstream(config(), std::ios::trunc) << "[server]\ntls = false\n" << server_extra << "\n[database]\nurl = \"" << url_
                                             << "\"\n[[api_keys]]\nname = \"learn\"\nsecret = \"0123456789abcdef0123\"\n";
  }
  std::string config() const { return (dir_ / "caliper-sessiond.toml").string(); }

  /// Runs `import ARGS` (stdin from `input` when given).
  import_run run(const std::string& args, const std::string& input = "") const {
    const std::string err = (dir_ / "stderr.txt").string();
    const auto [rc, out] = run_command(binary() + " --config " + config() + " import " + args + " 2>" + err +
                                       (input.empty() ? " </dev/null" : " <" + input));
    return {rc, out, read_file(err)};
  }

  std::string count(const std::string& sql) const { return pg_test_env::scalar(url_, sql); }
  std::string events() const { return count("SELECT count(*) FROM caliper.session_events"); }

  std::optional<pg_test_env> env_;
  std::string url_;
  fs::path dir_;
};

}  // namespace

TEST_F(import_e2e, single_envelope_file_is_imported) {
  const auto r = run(source_dir() + "/tests/fixtures/quickstart-loggedin.json");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1 stored, 0 duplicates, 0 rejected, 1 skipped\n");  // the ViewEvent beside it
  EXPECT_EQ(events(), "1");
}

TEST_F(import_e2e, json_array_of_bare_events_is_wrapped_with_the_source_as_sensor) {
  const auto r = run("--source archive-2026 " + fixture("events-array.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "3 stored, 0 duplicates, 0 rejected, 0 skipped\n");
  EXPECT_EQ(count("SELECT count(*) FROM caliper.session_events WHERE source = 'archive-2026' AND sensor = 'archive-2026'"),
            "3");
  EXPECT_EQ(count("SELECT session_name FROM caliper.session_events WHERE user_id LIKE '%/users/1'"), "a \"]},{[\" name");
}

TEST_F(import_e2e, json_array_of_envelopes_is_imported) {
  const auto r = run(fixture("envelopes-array.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "3 stored, 0 duplicates, 0 rejected, 1 skipped\n");
  EXPECT_EQ(count("SELECT count(*) FROM caliper.session_events WHERE source = 'import'"), "3");
}

TEST_F(import_e2e, json_lines_of_envelopes_and_events_are_imported_and_bad_lines_rejected) {
  const auto r = run(fixture("mixed.jsonl"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "3 stored, 0 duplicates, 2 rejected, 1 skipped\n");
  EXPECT_EQ(events(), "3");
}

TEST_F(import_e2e, rejects_are_stored_with_the_source) {
  const auto r = run("--source=old-lms " + fixture("mixed.jsonl"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count("SELECT count(*) FROM caliper.rejected_events WHERE source = 'old-lms'"), "2");
  EXPECT_EQ(count("SELECT count(*) FROM caliper.rejected_events WHERE source = 'old-lms' AND reason LIKE '400 %' "
                  "AND raw LIKE '%not json'"),
            "1");
}

TEST_F(import_e2e, gzip_is_read_by_its_magic_bytes_whatever_the_name) {
  const auto gz = (dir_ / "mixed.jsonl.gz").string(), renamed = (dir_ / "archive.bin").string();
  ASSERT_EQ(run_command("gzip -c " + fixture("mixed.jsonl") + " >" + gz + " && cp " + gz + " " + renamed).first, 0);
  const auto r = run(gz);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "3 stored, 0 duplicates, 2 rejected, 1 skipped\n");
  const auto again = run(renamed);
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, "0 stored, 3 duplicates, 2 rejected, 1 skipped\n");
}

TEST_F(import_e2e, dash_reads_stdin) {
  const auto r = run("-", fixture("events-array.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "3 stored, 0 duplicates, 0 rejected, 0 skipped\n");
}

TEST_F(import_e2e, second_import_of_the_same_file_stores_nothing_and_counts_duplicates) {
  ASSERT_EQ(run(fixture("events-array.json") + " " + fixture("envelopes-array.json")).out,
            "6 stored, 0 duplicates, 0 rejected, 1 skipped\n");
  const auto r = run(fixture("events-array.json") + " " + fixture("envelopes-array.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0 stored, 6 duplicates, 0 rejected, 1 skipped\n");
  EXPECT_EQ(events(), "6");
}

TEST_F(import_e2e, corrupt_and_missing_files_exit_1_and_the_other_files_are_imported) {
  const auto r = run(fixture("truncated-array.json") + " " + (dir_ / "missing.json").string() + " " +
                     fixture("events-array.json"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "4 stored, 0 duplicates, 0 rejected, 0 skipped\n");  // 1 before the cut, 3 of the next file
  EXPECT_NE(r.err.find("truncated-array.json: cannot be split into records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.json: cannot read"), std::string::npos) << r.err;
}

TEST_F(import_e2e, corrupt_gzip_exits_1) {
  const auto gz = (dir_ / "cut.jsonl.gz").string();
  ASSERT_EQ(run_command("gzip -c " + fixture("oversized.jsonl") + " | head -c 300 >" + gz).first, 0);
  const auto r = run(gz);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cut.jsonl.gz: read error"), std::string::npos) << r.err;
}

TEST_F(import_e2e, record_over_the_body_limit_is_skipped) {
  write_config("body_limit = 1024");
  const auto r = run(fixture("oversized.jsonl"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "2 stored, 0 duplicates, 0 rejected, 1 skipped\n");
  EXPECT_NE(r.err.find("record 2 is over server.body_limit (1024 bytes): skipped"), std::string::npos) << r.err;
}

TEST_F(import_e2e, progress_lines_go_to_stderr_when_it_is_not_a_terminal) {
  const auto r = run("--progress-interval 0 " + fixture("mixed.jsonl"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(import: .*mixed\.jsonl: [0-9.]+ of [0-9.]+ MB \([0-9]+%\), [0-9]+ events, [0-9]+ events/s, ETA [0-9]+:[0-9]{2}\n)")))
      << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "no bar redrawing outside a terminal";
}

TEST_F(import_e2e, help_prints_the_usage_and_exits_0) {
  const auto r = run("--help");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("import [--source NAME]"), std::string::npos) << r.out;
}

TEST_F(import_e2e, usage_errors_exit_2) {
  EXPECT_EQ(run("").status, 2);
  EXPECT_EQ(run("--source " + std::string(129, 'x') + " " + fixture("mixed.jsonl")).status, 2);
  EXPECT_EQ(run("--frobnicate " + fixture("mixed.jsonl")).status, 2);
  EXPECT_EQ(events(), "0");
}

TEST_F(import_e2e, unreachable_database_exits_3) {
  std::ofstream(config(), std::ios::trunc) << "[server]\ntls = false\n[database]\nurl = \"postgresql:///none?host="
                                           << dir_.string() << "\"\ncommit_timeout_ms = 1000\n"
                                           << "[[api_keys]]\nname = \"learn\"\nsecret = \"0123456789abcdef0123\"\n";
  const auto r = run(fixture("mixed.jsonl"));
  EXPECT_EQ(r.status, 3) << r.err;
}

TEST_F(import_e2e, shared_fixtures_import_as_serve_takes_them) {
  const std::string shared = shared_fixtures_dir();
  if (shared.empty() || !fs::exists(shared + "/caliper-spec")) GTEST_SKIP() << "../shared/fixtures is absent";
  std::string files = " " + shared + "/learn/loggedin-envelope.json";
  for (const auto& v : {"v1p1", "v1p2"})
    for (const auto& f : fs::directory_iterator(shared + "/caliper-spec/" + v))
      for (const auto& prefix : {"caliperEnvelope", "caliperEventSession"})  // envelopes and bare events
        if (f.path().filename().string().starts_with(prefix)) files += " " + f.path().string();
  const auto r = run(files);
  EXPECT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.out, m, std::regex(R"(([0-9]+) stored, 0 duplicates, ([0-9]+) rejected, [0-9]+ skipped\n)")))
      << r.out;
  EXPECT_EQ(m[1].str(), events());
  // The spec's examples are from 2016-2019: outside ingest.event_time_past_days, as for serve.
  EXPECT_EQ(m[2].str(), count("SELECT count(*) FROM caliper.rejected_events WHERE source = 'import'"));
  EXPECT_NE(m[1].str(), "0") << "the Learn envelope is stored";
}
