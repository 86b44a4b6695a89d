#pragma once
/// The server's configuration: TOML file plus CALIPER_<SECTION>_<KEY> environment overrides
/// (DESIGN section 5). Loading never throws; every problem names the key it concerns.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace caliper_sessiond::config {

/// Where a setting came from does not matter after loading; only the value does.
struct api_key {
  std::string name;    ///< stored as `source`
  std::string secret;  ///< never logged
};

/// TLS 1.2 suites offered by default: ECDHE key exchange with an AEAD cipher only.
inline constexpr const char* default_tls_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct server_config {
  std::string listen = "0.0.0.0:8443";
  std::string host = "0.0.0.0";  ///< from `listen`
  std::uint16_t port = 8443;      ///< from `listen`
  std::string path = "/caliper";
  std::string tls_cert = "/etc/caliper-sessiond/tls/cert.pem";
  std::string tls_key = "/etc/caliper-sessiond/tls/key.pem";
  bool tls = true;
  std::size_t body_limit = 4 * 1024 * 1024;  ///< bytes of request body
  std::size_t header_limit = 16 * 1024;      ///< bytes of request head
  std::chrono::seconds read_timeout{30};     ///< per request, and idle keep-alive
  unsigned threads = 0;                      ///< I/O threads (one event loop each); 0 = half the cores, at least 1
  std::size_t max_connections = 10'000;
  // Hardening (DESIGN section 5, second wave): limits a client without a key can reach.
  std::size_t max_connections_per_ip = 256;             ///< open connections from one address
  std::chrono::milliseconds handshake_timeout{10'000};  ///< TLS handshake plus the first request head
  std::uint64_t keepalive_max_requests = 10'000;        ///< then the answer says Connection: close
  std::chrono::seconds keepalive_max{3600};             ///< connection age after which the same
  std::string tls_ciphers = default_tls_ciphers;        ///< OpenSSL list for TLS 1.2 (1.3: OpenSSL's)
  std::string metrics_listen;                           ///< plain-HTTP /metrics listener; "" = main port
  std::string metrics_host;                             ///< from `metrics_listen`
  std::uint16_t metrics_port = 0;                       ///< from `metrics_listen`
  /// How often freed heap memory is given back to the system (malloc_trim); 0 = never.
  std::chrono::milliseconds memory_trim_interval{10'000};
};

struct database_config {
  std::string url = "postgresql:///caliper";
  bool migrate_on_start = true;
  int partitions_ahead_months = 3;   ///< monthly partitions kept ready ahead of now
  int retention_months = 0;          ///< drop partitions older than this; 0 keeps everything
  int maintenance_interval_minutes = 60;
  int partitions_max_per_run = 24;   ///< partitions a maintenance run may create; the rest wait
  std::size_t connections = 2;
  std::size_t batch_max_events = 1000;
  std::size_t text_key_cache_mib = 16;  ///< each writer connection's memory of caliper.texts' keys
  /// Unset: chosen by the durability mode, see batch_max_delay(config).
  std::optional<std::chrono::microseconds> batch_max_delay;
  std::size_t queue_max_events = 100'000;
  std::chrono::milliseconds commit_timeout{10'000};
  std::chrono::milliseconds drain_timeout{10'000};  ///< at shutdown, how long the writer may keep flushing
};

/// Where a request's events must be before it is answered 200 (DESIGN section 4).
struct journal_config {
  std::string durability = "journal";  ///< "journal": fsync'd in the local journal; "database": committed
  std::string dir = "/var/lib/caliper-sessiond/journal";
  std::uint64_t max_bytes = 1ull << 30;       ///< journal bytes on disk; past it requests get 503
  std::uint64_t segment_bytes = 64ull << 20;  ///< size at which a new segment file starts
  std::size_t drain_inflight_events = 20'000; ///< events handed to the writer and not yet committed
  /// Memory for durable records not yet handed to the writer; past it they are read back from disk.
  std::uint64_t memory_bytes = 64ull << 20;
  // Issue 14: committed records kept this long, replayed when the database turns out to be
  // another server or timeline (a failover may have lost asynchronously replicated commits).
  std::uint32_t retain_seconds = 600;
  bool enabled() const { return durability == "journal"; }
};

struct ingest_config {
  std::size_t max_events = 10'000;      ///< entries in one envelope's `data`
  std::size_t max_depth = 64;           ///< JSON nesting depth
  std::size_t reject_raw_bytes = 64 * 1024;  ///< bytes of raw JSON kept per reject
  // Issue 11: a SessionEvent outside these is a reject (see caliper::parse_limits).
  std::int64_t event_time_past_days = 3650;       ///< eventTime at most this long before receipt
  std::int64_t event_time_future_seconds = 86'400; ///< and at most this long after
  std::size_t max_id_bytes = 2048;          ///< each stored id, IRI or name, and the sensor
  std::size_t max_user_agent_bytes = 1024;  ///< the stored user agent

  friend bool operator==(const ingest_config&, const ingest_config&) = default;
};

struct log_config {
  std::string level = "info";   ///< trace, debug, info, warn, error, critical, off
  std::string format = "plain"; ///< plain or json
  bool access = true;           ///< one info line per request
  bool mask_client_ip = false;  ///< log client addresses truncated (/24, /48)
};

/// Issue 13: a sender that signs its envelopes as an RS256 JWT instead of sending an API key
/// (Canvas Data Services). Changes to the list need a restart; jwks_file is re-read on SIGHUP.
struct jwt_source {
  std::string name;       ///< stored as `source`; unique across api_keys and jwt_sources
  std::string jwks_url;   ///< https://… fetched at start and every refresh_minutes
  std::string jwks_file;  ///< or a local JWKS file (exactly one of the two)
  int refresh_minutes = 60;
  std::vector<std::string> allowed_accounts;  ///< Canvas root_account_uuid allowlist; empty = any
};

/// [privacy] (issue 15): what is kept of a person's client address and browser.
struct privacy_config {
  std::string ip_address = "full";  ///< "full", "truncate" (IPv4 /24, IPv6 /48) or "drop"
  std::string user_agent = "full";  ///< "full" or "drop"

  friend bool operator==(const privacy_config&, const privacy_config&) = default;
};

struct config {
  server_config server;
  database_config database;
  journal_config journal;
  ingest_config ingest;
  log_config log;
  privacy_config privacy;
  std::vector<api_key> api_keys;
  std::vector<jwt_source> jwt_sources;
};

/// database.batch_max_delay_us as set, else the default of the durability mode: 50 ms with
/// "journal" (nobody waits for the batch; fuller batches cost PostgreSQL less per event), 0
/// with "database" (every request waits for its batch: flush as soon as a writer is free).
inline std::chrono::microseconds batch_max_delay(const config& c) {
  if (c.database.batch_max_delay) return *c.database.batch_max_delay;
  return c.journal.enabled() ? std::chrono::microseconds(50'000) : std::chrono::microseconds(0);
}

/// One thing wrong with the configuration, with the key it concerns (e.g. "server.listen").
struct problem {
  std::string key;
  std::string message;
};

struct load_result {
  config cfg;
  std::vector<problem> problems;  ///< empty when the configuration is usable
  bool ok() const { return problems.empty(); }
};

/// Looks up an environment variable; std::getenv in production, a map in tests.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
env_lookup process_env();

/// Loads `path` (a missing file is a problem unless `path_optional`), applies the environment
/// overrides, reads secret files and validates everything.
load_result load(const std::string& path, const env_lookup& env, bool path_optional = false);

/// Default config path.
inline constexpr const char* default_path = "/etc/caliper-sessiond/caliper-sessiond.toml";

}  // namespace caliper_sessiond::config
