// Replays a fuzz target's inputs as a unit test (built with the target's own source): every
// file of tests/fuzz/regressions/<target>/ (crashes found by fuzzing, kept as regressions) and,
// for the envelope parser, every project fixture. A broken invariant aborts the test.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pg_test_env.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;
using caliper_sessiond::testing::read_file;
using caliper_sessiond::testing::source_dir;

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

void replay(const fs::path& file) {
  SCOPED_TRACE(file.string());
  const std::string bytes = read_file(file.string());
  EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0);
}

const std::string target = CALIPER_FUZZ_TARGET;

TEST(FuzzReplay, RegressionInputsRunClean) {
  const auto files = files_under(fs::path(source_dir()) / "tests/fuzz/regressions" / target);
  for (const auto& f : files) replay(f);
  RecordProperty("inputs", static_cast<int>(files.size()));
}

TEST(FuzzReplay, ProjectFixturesRunClean) {
  if (target != "envelope_fuzzer") GTEST_SKIP() << "the fixtures are envelopes, not HTTP streams";
  const auto files = files_under(fs::path(source_dir()) / "tests/fixtures");
  ASSERT_GE(files.size(), 40U);
  for (const auto& f : files) replay(f);
}

}  // namespace
