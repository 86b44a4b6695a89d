// caliper-sessiond: wiring only. Parses the command line, loads the configuration and
// connects config, store, http and metrics.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "caliper_sessiond/config/config.hpp"
#include "caliper_sessiond/http/server.hpp"
#include "caliper_sessiond/journal/journal.hpp"
#include "caliper_sessiond/metrics/registry.hpp"
#include "caliper_sessiond/store/batch_writer.hpp"
#include "server_watch.hpp"
#include "caliper_sessiond/store/migrations.hpp"
#include "import_command.hpp"
#include "log_sink.hpp"
#include "maintenance_loop.hpp"
#include "memory_trimmer.hpp"
#include "operator_commands.hpp"
#include "systemd_notify.hpp"

namespace cs = caliper_sessiond;

namespace {

constexpr const char* usage =
    "usage: caliper-sessiond [--config FILE] <command>\n"
    "commands:\n"
    "  serve         run the server (applies migrations first when database.migrate_on_start)\n"
    "  migrate       apply the database migrations and exit\n"
    "  check-config  print every configuration problem and exit non-zero if there is one\n"
    "  import [--source NAME] FILE...  backfill archives (envelopes, arrays, JSON Lines, gzip; - for stdin)\n"
    "  version       print the version\n"
    "  reprocess-rejects [--since TIME] [--dry-run]\n"
    "                re-parse the stored rejects; store those that now parse, update the others\n"
    "  forget --user ID [--dry-run]\n"
    "                erase one person's events, sessions and rejects (GDPR art. 17)\n"
    "The default FILE is /etc/caliper-sessiond/caliper-sessiond.toml; CALIPER_<SECTION>_<KEY>\n"
    "environment variables override its settings.\n";

void setup_logging(const cs::config::log_config& log) {
  auto logger = std::make_shared<spdlog::logger>("caliper-sessiond", std::make_shared<cs::app::buffered_fd_sink>(2));
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
  spdlog::set_level(spdlog::level::from_str(log.level));
  if (log.format == "json") {
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","message":"%v"})", spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
}

std::optional<cs::config::config> load_or_report(const std::string& path) {
  auto loaded = cs::config::load(path, cs::config::process_env());
  if (!loaded.ok()) {
    for (const auto& p : loaded.problems) std::fprintf(stderr, "%s: %s\n", p.key.c_str(), p.message.c_str());
    return std::nullopt;
  }
  return loaded.cfg;
}

cs::store::writer_options writer_options(const cs::config::config& cfg) {
  const auto& d = cfg.database;
  cs::store::writer_options o;
  o.database_url = d.url;
  o.connections = d.connections;
  o.batch_max_events = d.batch_max_events;
  o.text_key_cache_bytes = d.text_key_cache_mib << 20;
  o.batch_max_delay = cs::config::batch_max_delay(cfg);
  o.queue_max_events = d.queue_max_events;
  o.commit_timeout = d.commit_timeout;
  return o;
}

int run_migrate(const cs::config::config& cfg) {
  auto r = cs::store::migrate(cfg.database.url);
  if (!r.ok) {
    spdlog::error("migrate: {}", r.error);
    return 1;
  }
  if (r.applied.empty()) spdlog::info("migrate: the schema is up to date");
  return 0;
}

void register_writer_metrics(cs::metrics::registry& m, const cs::store::batch_writer& w) {
  const auto& s = w.stats();
  m.counter_fn("caliper_writer_events_total", "SessionEvents committed by the writer, by outcome.",
               R"(outcome="stored")", [&s] { return static_cast<double>(s.events_inserted.load()); });
  m.counter_fn("caliper_writer_events_total", "SessionEvents committed by the writer, by outcome.",
               R"(outcome="duplicate")", [&s] { return static_cast<double>(s.events_duplicate.load()); });
  m.counter_fn("caliper_writer_rejects_total", "Rejected events and refused requests recorded.", "",
               [&s] { return static_cast<double>(s.rejects_stored.load()); });
  m.counter_fn("caliper_writer_rejects_dropped_total", "Rejects the database refused even cut short: not stored.", "",
               [&s] { return static_cast<double>(s.rejects_dropped.load()); });
  m.counter_fn("caliper_writer_batches_total", "Batches committed.", "",
               [&s] { return static_cast<double>(s.batches.load()); });
  m.counter_fn("caliper_db_errors_total", "Database errors seen by the writer.", "",
               [&s] { return static_cast<double>(s.db_errors.load()); });
  m.gauge("caliper_queue_events", "SessionEvents waiting for the writer.",
          [&s] { return static_cast<double>(s.queued_events.load()); });
  m.gauge("caliper_db_connected", "1 while the writer has a database connection.",
          [&s] { return s.connected.load() ? 1.0 : 0.0; });
  m.counter_fn("caliper_db_server_changes_total", "Writer connections that found another database server or timeline (a failover).",
               "", [&s] { return static_cast<double>(s.server_changes.load()); });
  m.counter_fn("caliper_writer_text_keys_asked_total",
               "Long texts (user IRIs, user agents, ...) whose caliper.texts key the writer asked the database for: new, "
               "not asked for in 6 hours, or forgotten.",
               "", [&s] { return static_cast<double>(s.text_keys_asked.load()); });
  m.counter_fn("caliper_writer_text_key_cache_resets_total",
               "Times a writer connection's memory of caliper.texts keys was full (database.text_key_cache_mib) "
               "after forgetting the keys older than 6 hours, and forgot them all.",
               "", [&s] { return static_cast<double>(s.text_key_cache_resets.load()); });
  m.counter_fn("caliper_writer_duplicate_retries_total",
               "Batches whose plain INSERT met an event already stored (a resend) and were written again with "
               "ON CONFLICT DO NOTHING; a writer then uses ON CONFLICT for a minute.",
               "", [&s] { return static_cast<double>(s.duplicate_retries.load()); });
  m.counter_fn("caliper_db_standby_refusals_total", "Writer connections dropped because the server was a standby in recovery.",
               "", [&s] { return static_cast<double>(s.standby_refusals.load()); });
}

void register_maintenance_metrics(cs::metrics::registry& m, const cs::app::maintenance_stats& s) {
  m.counter_fn("caliper_partitions_created_total", "Monthly partitions created by the maintenance runs.", "",
               [&s] { return static_cast<double>(s.partitions_created.load()); });
  m.counter_fn("caliper_partitions_cap_hits_total",
               "Maintenance runs that created database.partitions_max_per_run partitions and left months over.", "",
               [&s] { return static_cast<double>(s.cap_hits.load()); });
  m.gauge("caliper_partitions_deferred_months",
          "Months whose partition the last maintenance run left for a later one (rows wait in the default partition).",
          [&s] { return static_cast<double>(s.deferred_months.load()); });
}

void register_memory_trim_metrics(cs::metrics::registry& m, const cs::app::memory_trim_stats& s) {
  m.counter_fn("caliper_memory_trims_total",
               "Times freed heap memory was given back to the system (server.memory_trim_interval_ms).", "",
               [&s] { return static_cast<double>(s.runs.load()); });
  m.counter_fn("caliper_memory_trim_seconds_total", "Time spent giving freed heap memory back to the system.", "",
               [&s] { return static_cast<double>(s.micros.load()) / 1e6; });
}

cs::journal::journal_options journal_options(const cs::config::config& cfg) {
  cs::journal::journal_options o;
  o.dir = cfg.journal.dir;
  o.max_bytes = cfg.journal.max_bytes;
  o.segment_bytes = cfg.journal.segment_bytes;
  o.drain_inflight_events = cfg.journal.drain_inflight_events;
  o.memory_bytes = cfg.journal.memory_bytes;
  o.retain = std::chrono::seconds(cfg.journal.retain_seconds);  // issue 14
  return o;
}

void register_journal_metrics(cs::metrics::registry& m, const cs::journal::journal& j) {
  const auto& s = j.stats();
  const auto as_double = [](const auto& v) { return [&v] { return static_cast<double>(v.load()); }; };
  m.gauge("caliper_journal_bytes", "Bytes of journal segments on disk.", as_double(s.bytes));
  m.gauge("caliper_journal_segments", "Journal segment files.", as_double(s.segments));
  m.gauge("caliper_journal_backlog_age_seconds", "Age of the oldest journaled request not yet committed in PostgreSQL.",
          [&s] {
            const auto oldest = s.oldest_uncommitted_us.load();
            if (oldest == 0) return 0.0;
            const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
            return std::max(0.0, static_cast<double>(now - oldest) / 1e6);
          });
  m.gauge("caliper_journal_replay_total_bytes", "Bytes found in the journal after the checkpoint at start.",
          as_double(s.replay_total_bytes));
  m.gauge("caliper_journal_replay_remaining_bytes", "Of those, bytes not yet committed in PostgreSQL.",
          as_double(s.replay_remaining_bytes));
  m.counter_fn("caliper_journal_records_total", "Journal records (one per request), by state.", R"(state="appended")",
               as_double(s.records_appended));
  m.counter_fn("caliper_journal_records_total", "Journal records (one per request), by state.", R"(state="committed")",
               as_double(s.records_committed));
  m.counter_fn("caliper_journal_records_read_from_disk_total",
               "Journal records the drainer read back from disk (replay, retry, past the memory budget).", "",
               as_double(s.records_read_from_disk));
  m.counter_fn("caliper_journal_fsyncs_total", "Group commits (fdatasync calls) of the journal.", "", as_double(s.fsyncs));
  m.counter_fn("caliper_journal_fsync_seconds_total", "Time spent writing and fsyncing journal groups.", "",
               [&s] { return static_cast<double>(s.fsync_us_total.load()) / 1e6; });
  m.gauge("caliper_journal_fsync_max_seconds", "The slowest journal group commit since start.",
          [&s] { return static_cast<double>(s.fsync_us_max.load()) / 1e6; });
  m.counter_fn("caliper_journal_write_errors_total", "Journal writes or fsyncs that failed (503 meanwhile).", "",
               as_double(s.write_errors));
  m.counter_fn("caliper_journal_corrupt_records_total", "Corrupt journal records skipped (segment set aside).", "",
               as_double(s.corrupt_records));
  m.counter_fn("caliper_journal_refused_total", "Requests refused by the journal (bound, write failure, stopping).", "",
               as_double(s.refused));
  // Issue 14: retention and failover replay.
  m.gauge("caliper_journal_retained_bytes", "Committed journal bytes kept for a failover replay (journal.retain_seconds).",
          as_double(s.retained_bytes));
  m.counter_fn("caliper_journal_retained_dropped_bytes_total",
               "Retained bytes deleted before journal.retain_seconds to make room under journal.max_bytes.", "",
               as_double(s.retained_dropped_bytes));
  m.counter_fn("caliper_journal_failover_replays_total",
               "Times the writer found another database server or timeline and the retained records were sent again.",
               "", as_double(s.failover_replays));
  m.counter_fn("caliper_journal_records_replayed_total", "Committed journal records sent again by failover replays.", "",
               as_double(s.records_replayed));
}

int run_serve(const cs::config::config& cfg, const std::string& config_path) {
  if (cfg.database.migrate_on_start && run_migrate(cfg) != 0) {
    // With the journal, requests are taken while PostgreSQL is away (a restart during a database
    // outage must not lose events either); they wait in the journal until the writer can store them.
    if (!cfg.journal.enabled()) return 1;
    spdlog::warn("serving without the migrations: events wait in the journal until the database accepts them");
  }
  cs::metrics::registry metrics;
  metrics.gauge("caliper_build_info", "Build information.", [] { return 1.0; },
                "version=\"" CALIPER_SESSIOND_VERSION "\"");
  auto& batch_rows = metrics.histogram_of("caliper_writer_batch_rows", "SessionEvents per committed batch.",
                                          {1, 10, 50, 100, 250, 500, 1000, 2500, 5000});
  auto& flush_seconds =
      metrics.histogram_of("caliper_writer_flush_seconds", "Time to commit one batch, retries included.",
                           {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  auto options = writer_options(cfg);
  options.on_flush = [&batch_rows, &flush_seconds](std::size_t rows, std::chrono::nanoseconds elapsed) {
    batch_rows.observe(static_cast<double>(rows));
    flush_seconds.observe(std::chrono::duration<double>(elapsed).count());
  };
  cs::app::server_watch server_watch;  // issue 14: the writer's server identity, for the journal
  options.on_server = [&server_watch](const std::string& identity) { server_watch.seen(identity); };
  cs::store::batch_writer writer(std::move(options));
  register_writer_metrics(metrics, writer);
  writer.start();
  // durability "journal": requests go to the journal, which drains into the writer.
  std::unique_ptr<cs::journal::journal> journal;
  if (cfg.journal.enabled()) {
    try {
      journal = std::make_unique<cs::journal::journal>(journal_options(cfg), writer);
    } catch (const std::runtime_error& e) {
      spdlog::error("{}", e.what());
      writer.stop(std::chrono::milliseconds(0));
      return 1;
    }
    register_journal_metrics(metrics, *journal);
  }
  server_watch.attach(journal.get());
  const cs::app::server_watch::attachment server_watch_detach(server_watch);
  cs::store::event_sink& sink = journal ? static_cast<cs::store::event_sink&>(*journal) : writer;
  const auto stop_store = [&writer, &journal](std::chrono::milliseconds drain) {
    if (journal)
      journal->stop(drain, [&writer](std::chrono::milliseconds left) { writer.stop(left); });
    else
      writer.stop(drain);
  };
  spdlog::info("durability: {}{}", cfg.journal.durability, journal ? " (" + cfg.journal.dir + ")" : std::string{});
  cs::http::server server(cfg, sink, metrics);
  std::string error;
  if (!server.open(error)) {
    spdlog::error("{}", error);
    stop_store(std::chrono::milliseconds(0));
    return 1;
  }
  spdlog::info("caliper-sessiond {} listening on {}://{}:{}{} ({} I/O threads)", CALIPER_SESSIOND_VERSION,
               cfg.server.tls ? "https" : "http", cfg.server.host, server.port(), cfg.server.path, server.threads());
  cs::http::server_hooks hooks;
  hooks.reload = [config_path]() -> std::optional<cs::config::config> {
    auto loaded = cs::config::load(config_path, cs::config::process_env());
    for (const auto& p : loaded.problems) spdlog::error("reload: {}: {}", p.key, p.message);
    if (!loaded.ok()) return std::nullopt;
    spdlog::set_level(spdlog::level::from_str(loaded.cfg.log.level));
    return loaded.cfg;
  };
  hooks.drained = [&stop_store, &cfg] {
    stop_store(cfg.database.drain_timeout);
    spdlog::info("writer stopped");
  };
  namespace sd = cs::app;
  hooks.reloading = [] { sd::notify_reloading(); };
  hooks.reloaded = [] { sd::notify_ready(); };
  hooks.stopping = [] { sd::notify_stopping(); };
  if (auto every = sd::watchdog_interval()) {
    hooks.watchdog = [] { sd::notify_watchdog(); };
    hooks.watchdog_every = *every;
  }
  cs::app::maintenance_loop maintenance(cfg.database.url,
                                       {.months_ahead = cfg.database.partitions_ahead_months,
                                        .retention_months = cfg.database.retention_months,
                                        .max_new_partitions = cfg.database.partitions_max_per_run},
                                       std::chrono::minutes(cfg.database.maintenance_interval_minutes));
  register_maintenance_metrics(metrics, maintenance.stats());
  cs::app::memory_trimmer trimmer(cfg.server.memory_trim_interval);
  register_memory_trim_metrics(metrics, trimmer.stats());
  sd::notify_ready();
  sd::notify_status("serving");
  server.run(std::move(hooks));
  spdlog::info("caliper-sessiond stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = cs::config::default_path;
  std::string command;
  std::vector<std::string> command_args;  // what follows the command: its own options
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a.starts_with("--config=")) {
      config_path = std::string(a.substr(9));
    } else if (a == "-h" || a == "--help" || a == "help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (command.empty() && !a.starts_with("-")) {
      command = a;
      if (command == "import") {  // the rest is import's own options and files
        command_args.assign(argv + i + 1, argv + argc);
        break;
      }
    } else if (command == "reprocess-rejects" || command == "forget") {
      command_args.emplace_back(a);
    } else {
      std::fprintf(stderr, "caliper-sessiond: unexpected argument %s\n%s", argv[i], usage);
      return 2;
    }
  }
  if (command == "version") {
    std::printf("caliper-sessiond %s\n", CALIPER_SESSIOND_VERSION);
    return 0;
  }
  const bool operator_tool = command == "import" || command == "reprocess-rejects" || command == "forget";
  if (command != "serve" && command != "migrate" && command != "check-config" && !operator_tool) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  auto cfg = load_or_report(config_path);
  if (command == "check-config") {
    if (!cfg) return 1;
    std::printf("%s: OK\n", config_path.c_str());
    return 0;
  }
  if (!cfg) return 1;
  setup_logging(cfg->log);
  int status = 0;
  if (command == "import") status = cs::app::run_import(*cfg, writer_options(*cfg), command_args);
  else if (command == "reprocess-rejects") status = cs::app::run_reprocess_rejects(*cfg, command_args);
  else if (command == "forget") status = cs::app::run_forget(*cfg, command_args);
  else status = command == "migrate" ? run_migrate(*cfg) : run_serve(*cfg, config_path);
  spdlog::shutdown();  // the log sink buffers: write out what is left
  return status;
}
