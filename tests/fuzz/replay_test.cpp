// Replays a fuzz target's inputs as a unit test (built with the target's own source): every
// file of tests/fuzz/regressions/<target>/ (crashes found by fuzzing and attack probes, kept as
// regressions), each of which must give the outcome its name states, and every project fixture
// (for http_fuzzer POSTed as a request). A broken invariant aborts the test.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
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
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

/// `<case>.<outcome>.<ext>` -> `<outcome>`; empty when the name does not follow that form.
std::string expected_outcome(const fs::path& file) {
  const std::string name = file.filename().string();
  const auto first = name.find('.');
  const auto last = name.rfind('.');
  if (first == std::string::npos || first == last) return {};
  return name.substr(first + 1, last - first - 1);
}

const std::string target = CALIPER_FUZZ_TARGET;

TEST(FuzzReplay, RegressionInputsGiveTheOutcomeTheirNameStates) {
  std::vector<fs::path> files;
  for (const auto& f : files_under(fs::path(source_dir()) / "tests/fuzz/regressions" / target))
    if (f.extension() != ".md") files.push_back(f);
  // An empty folder would make this test pass while checking nothing.
  ASSERT_FALSE(files.empty()) << "no regression inputs in tests/fuzz/regressions/" << target;
  for (const auto& f : files) {
    const std::string expected = expected_outcome(f);
    ASSERT_FALSE(expected.empty()) << f << ": name it <case>.<outcome>.<ext> (tests/fuzz/regressions/README.md)";
    replay(f);
    EXPECT_EQ(fuzz_last_outcome(), expected) << f;
  }
  RecordProperty("inputs", static_cast<int>(files.size()));
}

/// For http_fuzzer: byte 0 (sink mode and read size, see http_fuzzer.cpp), then `body` POSTed
/// with the fuzz key, as scripts/fuzz builds its seeds.
std::string as_request(std::uint8_t mode, const std::string& body) {
  return std::string(1, static_cast<char>(mode)) +
         "POST /caliper HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer fuzz-key-0123456789abcdef\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(FuzzReplay, ProjectFixturesRunClean) {
  const auto files = files_under(fs::path(source_dir()) / "tests/fixtures");
  ASSERT_GE(files.size(), 40U);
  std::uint8_t mode = 0;
  for (const auto& f : files) {
    if (target == "envelope_fuzzer") {
      replay(f);
      continue;
    }
    SCOPED_TRACE(f.string());
    const std::string input = as_request(mode++ % 32, read_file(f.string()));
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    // Every fixture is a well-formed request: it gets a final answer (which one depends on the
    // fake sink's mode and the fixture), never a dropped connection.
    EXPECT_NE(fuzz_last_outcome(), "none");
  }
}

}  // namespace
