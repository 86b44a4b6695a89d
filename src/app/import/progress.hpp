#pragma once
/// Progress of `import` on stderr: a bar with rate and ETA on a terminal, otherwise a line
/// every few seconds (logs and pipes).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace caliper_sessiond::app {

class progress_meter {
public:
  /// `terminal`: redraw a bar in place; otherwise print a line every `every`.
  progress_meter(std::FILE* out, bool terminal, std::chrono::milliseconds every);

  /// A new file: its name and size in bytes (0 when unknown: rate only, no ETA).
  void start_file(std::string name, std::uint64_t size);
  /// Bytes of the file read and events read so far in it; prints when it is time.
  void update(std::uint64_t position, std::uint64_t events);
  /// Clears the bar (terminal) so that messages and the summary start on a clean line.
  void clear();

private:
  void print(std::uint64_t position, std::uint64_t events, double seconds);

  std::FILE* out_;
  bool terminal_;
  std::chrono::milliseconds every_;
  std::string name_;
  std::uint64_t size_ = 0;
  std::chrono::steady_clock::time_point started_, last_;
  bool drawn_ = false;
};

}  // namespace caliper_sessiond::app
