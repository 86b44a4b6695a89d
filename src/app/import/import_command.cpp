#include "import_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "caliper_sessiond/caliper/text.hpp"
#include "importer.hpp"
#include "input_file.hpp"
#include "progress.hpp"
#include "record_splitter.hpp"

namespace caliper_sessiond::app {
namespace {

constexpr const char* import_usage =
    "usage: caliper-sessiond [--config FILE] import [--source NAME] [--progress-interval SECONDS] FILE...\n"
    "  FILE: one Caliper envelope, a JSON array of envelopes or events, or JSON Lines; gzip or not; - for stdin\n"
    "  --source NAME  stored as source (default \"import\"); at most 128 bytes, like API key names\n";
constexpr int exit_file_failed = 1, exit_usage = 2, exit_database = 3;
constexpr std::size_t max_source_bytes = 128;  // as API key names (config)
constexpr std::size_t read_chunk = 1 << 20;
constexpr int oversized_messages_per_file = 5;

struct import_args {
  std::string source = "import";
  std::chrono::milliseconds progress_interval{5000};
  std::vector<std::string> files;
};

std::optional<import_args> parse_args(const std::vector<std::string>& args) {
  import_args a;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    const bool has_value = i + 1 < args.size();
    if (options_done || s == "-" || !s.starts_with("-")) {
      a.files.push_back(s);
    } else if (s == "--") {
      options_done = true;
    } else if (s == "--source" && has_value) {
      a.source = args[++i];
    } else if (s.starts_with("--source=")) {
      a.source = s.substr(9);
    } else if (s == "--progress-interval" && has_value) {
      try {
        a.progress_interval = std::chrono::milliseconds(static_cast<long long>(std::stod(args[++i]) * 1000));
      } catch (const std::exception&) {
        std::fprintf(stderr, "import: --progress-interval takes a number of seconds\n");
        return std::nullopt;
      }
    } else {
      std::fprintf(stderr, "import: unexpected argument %s\n", s.c_str());
      return std::nullopt;
    }
  }
  if (a.files.empty()) {
    std::fprintf(stderr, "import: no FILE given\n");
    return std::nullopt;
  }
  if (a.source.empty() || a.source.size() > max_source_bytes || !caliper::is_storable_text(a.source)) {
    std::fprintf(stderr, "import: --source must be 1 to %zu bytes of UTF-8 text\n", max_source_bytes);
    return std::nullopt;
  }
  return a;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Imports one file. False when it could not be read or split as a whole (reported); sets
/// `fatal` when the import must stop.
bool import_file(const std::string& path, const config::config& cfg, importer& imp, progress_meter& progress,
                 bool& fatal) {
  const std::string name = path == "-" ? "stdin" : path;
  input_file in(path);
  if (!in.ok()) {
    fmt::print(stderr, "import: {}: cannot read: {}\n", name, in.error());
    return false;
  }
  progress.start_file(name, in.size());
  record_splitter splitter(cfg.server.body_limit);
  std::string chunk, record;
  std::uint64_t records = 0, oversized = 0;
  const std::uint64_t events_before = imp.events_read();
  for (;;) {
    const auto r = splitter.next(record);
    if (r == record_splitter::result::need_more) {
      if (in.read(chunk, read_chunk)) {
        splitter.feed(chunk);
      } else if (!in.ok()) {
        progress.clear();
        fmt::print(stderr, "import: {}: read error after {} records: {}\n", name, records, in.error());
        return false;
      } else {
        splitter.finish();
      }
      continue;
    }
    if (r == record_splitter::result::end) break;
    if (r == record_splitter::result::error) {
      progress.clear();
      fmt::print(stderr, "import: {}: cannot be split into records: {} ({} records before it were imported)\n", name,
                 splitter.error(), records);
      return false;
    }
    ++records;
    if (r == record_splitter::result::oversized) {
      imp.skip_record();
      if (++oversized <= oversized_messages_per_file) {
        progress.clear();
        fmt::print(stderr, "import: {}: record {} is over server.body_limit ({} bytes): skipped{}\n", name, records,
                   cfg.server.body_limit, oversized == oversized_messages_per_file ? " (no more such lines for this file)" : "");
      }
    } else if (!imp.add(record)) {
      fatal = true;
      return true;
    }
    progress.update(in.position(), imp.events_read() - events_before);  // prints only when it is time
  }
  progress.clear();
  return true;
}

bool wait_until_ready(const store::batch_writer& writer, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!writer.ready()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the writer connects in the background
  }
  return true;
}

}  // namespace

int run_import(const config::config& cfg, store::writer_options writer_opts, const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(import_usage, stdout);
    return 0;
  }
  const auto a = parse_args(args);
  if (!a) {
    std::fputs(import_usage, stderr);
    return exit_usage;
  }
  store::batch_writer writer(std::move(writer_opts));
  writer.start();
  if (!wait_until_ready(writer, cfg.database.commit_timeout)) {
    fmt::print(stderr, "import: the database cannot be used within database.commit_timeout_ms (unreachable, or not migrated?)\n");
    return exit_database;
  }
  progress_meter progress(stderr, ::isatty(STDERR_FILENO) == 1, a->progress_interval);
  bool fatal = false, file_failed = false;
  std::optional<importer> imp;
  imp.emplace(cfg, writer, a->source, now_us());
  for (const auto& path : a->files) {
    if (!import_file(path, cfg, *imp, progress, fatal)) file_failed = true;
    if (fatal) break;
  }
  if (!imp->finish()) fatal = true;  // every batch settled: the counts are final
  if (fatal) fmt::print(stderr, "import: stopped: {}\n", imp->failure());
  const import_counts c = imp->counts();
  imp.reset();
  writer.stop(cfg.database.drain_timeout);
  fmt::print("{} stored, {} duplicates, {} rejected, {} skipped\n", c.stored, c.duplicates, c.rejected, c.skipped);
  std::fflush(stdout);
  return fatal ? exit_database : file_failed ? exit_file_failed : 0;
}

}  // namespace caliper_sessiond::app
