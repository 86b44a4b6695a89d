#include "caliper_sessiond/config/config.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "listen_address.hpp"

namespace caliper_sessiond::config {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string trim_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

/// Reads settings from the TOML tree, letting CALIPER_<SECTION>_<KEY> override each one.
class reader {
public:
  reader(const toml::table& root, const env_lookup& env, std::vector<problem>& problems)
      : root_(root), env_(env), problems_(problems) {}

  void text(const char* section, const char* key, std::string& out) {
    known_[section].insert(key);
    if (auto e = from_env(section, key)) {
      out = *e;
    } else if (auto node = from_file(section, key)) {
      if (auto v = node->value<std::string>()) out = *v;
      else wrong_type(section, key, "a string");
    }
  }

  void boolean(const char* section, const char* key, bool& out) {
    known_[section].insert(key);
    if (auto e = from_env(section, key)) {
      if (*e == "true" || *e == "1") out = true;
      else if (*e == "false" || *e == "0") out = false;
      else add(section, key, "must be true or false, not \"" + *e + "\" (from the environment)");
    } else if (auto node = from_file(section, key)) {
      if (auto v = node->value<bool>()) out = *v;
      else wrong_type(section, key, "true or false");
    }
  }

  template <class T>
  void number(const char* section, const char* key, T& out, std::int64_t min, std::int64_t max) {
    known_[section].insert(key);
    std::optional<std::int64_t> got;
    if (auto e = from_env(section, key)) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(e->data(), e->data() + e->size(), v);
      if (ec != std::errc{} || p != e->data() + e->size()) {
        add(section, key, "must be a whole number, not \"" + *e + "\" (from the environment)");
        return;
      }
      got = v;
    } else if (auto node = from_file(section, key)) {
      if (auto v = node->value<std::int64_t>()) got = *v;
      else return wrong_type(section, key, "a whole number");
    }
    if (!got) return;
    if (*got < min || *got > max) {
      add(section, key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                            ", not " + std::to_string(*got));
      return;
    }
    out = static_cast<T>(*got);
  }

  /// Keys in the file that no setting reads: almost always a typo.
  void report_unknown() {
    for (auto&& [section_name, node] : root_) {
      const std::string section(section_name.str());
      if (section == "api_keys" || section == "jwt_sources") continue;
      const auto* table = node.as_table();
      if (table == nullptr || !known_.contains(section)) {
        add(section, "", "unknown section [" + section + "]");
        continue;
      }
      for (auto&& [key, value] : *table) {
        (void)value;
        if (!known_[section].contains(std::string(key.str())))
          add(section, std::string(key.str()), "unknown setting");
      }
    }
  }

  void add(const std::string& section, const std::string& key, std::string message) {
    problems_.push_back({key.empty() ? section : section + "." + key, std::move(message)});
  }

private:
  std::optional<std::string> from_env(const char* section, const char* key) {
    return env_("CALIPER_" + upper(section) + "_" + upper(key));
  }
  const toml::node* from_file(const char* section, const char* key) {
    const auto* table = root_[section].as_table();
    return table ? table->get(key) : nullptr;
  }
  void wrong_type(const char* section, const char* key, const char* want) {
    add(section, key, std::string("must be ") + want);
  }

  const toml::table& root_;
  const env_lookup& env_;
  std::vector<problem>& problems_;
  std::map<std::string, std::set<std::string>> known_;
};

void read_settings(reader& r, config& c) {
  auto& s = c.server;
  r.text("server", "listen", s.listen);
  r.text("server", "path", s.path);
  r.text("server", "tls_cert", s.tls_cert);
  r.text("server", "tls_key", s.tls_key);
  r.boolean("server", "tls", s.tls);
  r.number("server", "body_limit", s.body_limit, 1024, 1LL << 30);
  r.number("server", "header_limit", s.header_limit, 1024, 1 << 20);
  std::int64_t read_timeout = s.read_timeout.count();
  r.number("server", "read_timeout_seconds", read_timeout, 1, 3600);
  s.read_timeout = std::chrono::seconds(read_timeout);
  r.number("server", "threads", s.threads, 0, 256);
  r.number("server", "max_connections", s.max_connections, 1, 1'000'000);
  r.number("server", "max_connections_per_ip", s.max_connections_per_ip, 1, 1'000'000);
  std::int64_t handshake_ms = s.handshake_timeout.count();
  r.number("server", "handshake_timeout_ms", handshake_ms, 100, 600'000);
  s.handshake_timeout = std::chrono::milliseconds(handshake_ms);
  r.number("server", "keepalive_max_requests", s.keepalive_max_requests, 1, 1'000'000'000);
  std::int64_t keepalive_s = s.keepalive_max.count();
  r.number("server", "keepalive_max_seconds", keepalive_s, 1, 7 * 24 * 3600);
  s.keepalive_max = std::chrono::seconds(keepalive_s);
  std::int64_t trim_ms = s.memory_trim_interval.count();
  r.number("server", "memory_trim_interval_ms", trim_ms, 0, 3'600'000);
  if (trim_ms > 0 && trim_ms < 1000) {
    // A trim takes ~2 ms and holds each allocator arena's lock while it trims that arena.
    r.add("server", "memory_trim_interval_ms", "must be 0 (never) or at least 1000, not " + std::to_string(trim_ms));
  } else {
    s.memory_trim_interval = std::chrono::milliseconds(trim_ms);
  }
  r.text("server", "tls_ciphers", s.tls_ciphers);
  r.text("server", "metrics_listen", s.metrics_listen);

  auto& d = c.database;
  r.text("database", "url", d.url);
  r.boolean("database", "migrate_on_start", d.migrate_on_start);
  r.number("database", "partitions_ahead_months", d.partitions_ahead_months, 1, 36);
  r.number("database", "retention_months", d.retention_months, 0, 1200);
  r.number("database", "maintenance_interval_minutes", d.maintenance_interval_minutes, 1, 7 * 24 * 60);
  // Each partition slows the planning of every query a little: a flood of months is taken slowly.
  r.number("database", "partitions_max_per_run", d.partitions_max_per_run, 1, 240);
  r.number("database", "connections", d.connections, 1, 64);
  r.number("database", "batch_max_events", d.batch_max_events, 1, 100'000);
  r.number("database", "text_key_cache_mib", d.text_key_cache_mib, 1, 4096);
  std::int64_t delay_us = -1;  // unset: chosen by the durability mode
  r.number("database", "batch_max_delay_us", delay_us, 0, 10'000'000);
  if (delay_us >= 0) d.batch_max_delay = std::chrono::microseconds(delay_us);
  r.number("database", "queue_max_events", d.queue_max_events, 1, 100'000'000);
  std::int64_t commit_ms = d.commit_timeout.count();
  r.number("database", "commit_timeout_ms", commit_ms, 100, 3'600'000);
  d.commit_timeout = std::chrono::milliseconds(commit_ms);
  std::int64_t drain_ms = d.drain_timeout.count();
  r.number("database", "drain_timeout_ms", drain_ms, 0, 3'600'000);
  d.drain_timeout = std::chrono::milliseconds(drain_ms);

  auto& j = c.journal;
  r.text("journal", "durability", j.durability);
  r.text("journal", "dir", j.dir);
  r.number("journal", "max_bytes", j.max_bytes, 256 * 1024, 1LL << 50);
  r.number("journal", "segment_bytes", j.segment_bytes, 16 * 1024, 1LL << 32);
  r.number("journal", "drain_inflight_events", j.drain_inflight_events, 1, 10'000'000);
  r.number("journal", "memory_bytes", j.memory_bytes, 0, 1LL << 40);
  r.number("journal", "retain_seconds", j.retain_seconds, 0, 7 * 86400);  // issue 14

  auto& i = c.ingest;
  r.number("ingest", "max_events", i.max_events, 1, 1'000'000);
  r.number("ingest", "max_depth", i.max_depth, 8, 1024);
  r.number("ingest", "reject_raw_bytes", i.reject_raw_bytes, 256, 16 * 1024 * 1024);
  r.number("ingest", "event_time_past_days", i.event_time_past_days, 1, 36'500);
  r.number("ingest", "event_time_future_seconds", i.event_time_future_seconds, 0, 366 * 86'400);
  // At most 2048 (and API key names at most max_source_bytes): the btree key of the sessions,
  // (session_prefix_ref, session_tail, source) of caliper.session_rows since sql/013 (it was
  // (source, session_id)), is then at most 8 + 8 + 2052 + 132 = 2200 bytes, under the 2704
  // bytes PostgreSQL allows on 8 KB pages. No other btree holds text (caliper.texts' value
  // index is a hash).
  r.number("ingest", "max_id_bytes", i.max_id_bytes, 256, 2048);
  r.number("ingest", "max_user_agent_bytes", i.max_user_agent_bytes, 64, 64 * 1024);

  r.text("log", "level", c.log.level);
  r.text("log", "format", c.log.format);
  r.boolean("log", "access", c.log.access);
  r.boolean("log", "mask_client_ip", c.log.mask_client_ip);

  r.text("privacy", "ip_address", c.privacy.ip_address);
  r.text("privacy", "user_agent", c.privacy.user_agent);
}

std::optional<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return trim_newlines(ss.str());
}

void read_api_keys(const toml::table& root, const env_lookup& env, config& c, std::vector<problem>& problems) {
  if (const auto* node = root.get("api_keys")) {
    const auto* arr = node->as_array();
    if (arr == nullptr) {
      problems.push_back({"api_keys", "must be an array of tables: [[api_keys]]"});
    } else {
      for (std::size_t n = 0; n < arr->size(); ++n) {
        const std::string where = "api_keys[" + std::to_string(n) + "]";
        const auto* t = arr->get(n)->as_table();
        if (t == nullptr) {
          problems.push_back({where, "must be a table with name and secret or secret_file"});
          continue;
        }
        api_key key;
        key.name = (*t)["name"].value_or(std::string{});
        auto secret = (*t)["secret"].value<std::string>();
        auto secret_file = (*t)["secret_file"].value<std::string>();
        for (auto&& [k, v] : *t) {
          (void)v;
          if (k != "name" && k != "secret" && k != "secret_file")
            problems.push_back({where + "." + std::string(k.str()), "unknown setting"});
        }
        if (secret && secret_file) {
          problems.push_back({where, "give secret or secret_file, not both"});
        } else if (secret) {
          key.secret = *secret;
        } else if (secret_file) {
          if (auto s = read_secret_file(*secret_file)) key.secret = *s;
          else problems.push_back({where + ".secret_file", "cannot read " + *secret_file});
        } else {
          problems.push_back({where, "needs secret or secret_file"});
        }
        c.api_keys.push_back(std::move(key));
      }
    }
  }
  if (auto e = env("CALIPER_API_KEYS")) {
    std::string_view rest = *e;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (item.empty()) continue;
      const auto colon = item.find(':');
      if (colon == std::string_view::npos) {
        problems.push_back({"CALIPER_API_KEYS", "each entry must be name:secret"});
        continue;
      }
      c.api_keys.push_back({std::string(item.substr(0, colon)), std::string(item.substr(colon + 1))});
    }
  }
}

// Issue 13: [[jwt_sources]], senders that sign their envelopes (Canvas Data Services).
void read_jwt_sources(const toml::table& root, config& c, std::vector<problem>& problems) {
  const auto* node = root.get("jwt_sources");
  if (node == nullptr) return;
  const auto* arr = node->as_array();
  if (arr == nullptr) {
    problems.push_back({"jwt_sources", "must be an array of tables: [[jwt_sources]]"});
    return;
  }
  for (std::size_t n = 0; n < arr->size(); ++n) {
    const std::string where = "jwt_sources[" + std::to_string(n) + "]";
    const auto* t = arr->get(n)->as_table();
    if (t == nullptr) {
      problems.push_back({where, "must be a table with name and jwks_url or jwks_file"});
      continue;
    }
    jwt_source src;
    for (auto&& [k, v] : *t) {
      const std::string key(k.str());
      if (key == "name" || key == "jwks_url" || key == "jwks_file") {
        if (!v.is_string()) problems.push_back({where + "." + key, "must be a string"});
      } else if (key == "jwks_refresh_minutes") {
        const auto minutes = v.value<std::int64_t>();
        if (!minutes || *minutes < 1 || *minutes > 1440)
          problems.push_back({where + "." + key, "must be a whole number between 1 and 1440"});
        else src.refresh_minutes = static_cast<int>(*minutes);
      } else if (key == "allowed_accounts") {
        const auto* accounts = v.as_array();
        if (accounts == nullptr) problems.push_back({where + "." + key, "must be an array of strings"});
        else
          for (auto&& a : *accounts) {
            const auto text = a.value<std::string>();
            if (!text || text->empty()) problems.push_back({where + "." + key, "must hold non-empty strings only"});
            else src.allowed_accounts.push_back(*text);
          }
      } else {
        problems.push_back({where + "." + key, "unknown setting"});
      }
    }
    src.name = (*t)["name"].value_or(std::string{});
    src.jwks_url = (*t)["jwks_url"].value_or(std::string{});
    src.jwks_file = (*t)["jwks_file"].value_or(std::string{});
    if (src.jwks_url.empty() == src.jwks_file.empty())
      problems.push_back({where, "needs exactly one of jwks_url and jwks_file"});
    else if (!src.jwks_url.empty() && src.jwks_url.rfind("https://", 0) != 0)
      problems.push_back({where + ".jwks_url", "must be an https:// URL"});
    else if (!src.jwks_file.empty() && !std::ifstream(src.jwks_file))
      problems.push_back({where + ".jwks_file", "cannot read " + src.jwks_file});
    c.jwt_sources.push_back(std::move(src));
  }
}

/// API key names are stored as `source`; see ingest.max_id_bytes for why they are bounded.
constexpr std::size_t max_source_bytes = 128;

/// The [server] settings of the hardening issue: the metrics listener and the TLS 1.2 suites.
void validate_hardening(server_config& s, std::vector<problem>& problems) {
  if (!s.metrics_listen.empty()) {
    if (auto addr = parse_listen(s.metrics_listen)) {
      s.metrics_host = addr->host;
      s.metrics_port = addr->port;
    } else {
      problems.push_back({"server.metrics_listen", "must be host:port or empty, not \"" + s.metrics_listen + "\""});
    }
  }
  // Checked here rather than at the first handshake: a list that selects nothing is a typo.
  // Only with TLS on: plain HTTP never uses the list (and must start where OpenSSL's TLS is
  // restricted, e.g. to a FIPS provider that is not loaded).
  if (!s.tls) return;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (s.tls_ciphers.empty() || !ctx || SSL_CTX_set_cipher_list(ctx.get(), s.tls_ciphers.c_str()) != 1) {
    ERR_clear_error();
    problems.push_back({"server.tls_ciphers", "selects no TLS 1.2 cipher suite: \"" + s.tls_ciphers + "\""});
  }
}

void validate(config& c, std::vector<problem>& problems) {
  if (auto addr = parse_listen(c.server.listen)) {
    c.server.host = addr->host;
    c.server.port = addr->port;
  } else {
    problems.push_back({"server.listen", "must be host:port (IPv6 as [addr]:port), not \"" + c.server.listen + "\""});
  }
  validate_hardening(c.server, problems);
  if (c.server.path.empty() || c.server.path.front() != '/')
    problems.push_back({"server.path", "must start with /"});
  if (c.server.path == "/healthz" || c.server.path == "/readyz" || c.server.path == "/metrics")
    problems.push_back({"server.path", "clashes with a built-in route"});
  if (c.server.tls) {
    for (auto [key, file] : {std::pair{"server.tls_cert", &c.server.tls_cert}, {"server.tls_key", &c.server.tls_key}}) {
      std::ifstream in(*file);
      if (!in) problems.push_back({key, "cannot read " + *file});
    }
  }
  if (c.database.url.empty()) problems.push_back({"database.url", "must not be empty"});
  if (c.journal.durability != "journal" && c.journal.durability != "database")
    problems.push_back({"journal.durability", "must be journal or database, not \"" + c.journal.durability + "\""});
  if (c.journal.enabled() && c.journal.dir.empty()) problems.push_back({"journal.dir", "must not be empty"});
  if (c.journal.max_bytes < 2 * c.journal.segment_bytes)
    problems.push_back({"journal.max_bytes", "must be at least twice journal.segment_bytes (space is freed a segment at a time)"});
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!levels.contains(c.log.level))
    problems.push_back({"log.level", "must be one of trace, debug, info, warn, error, critical, off"});
  if (c.log.format != "plain" && c.log.format != "json")
    problems.push_back({"log.format", "must be plain or json"});
  const auto& privacy = c.privacy;
  if (privacy.ip_address != "full" && privacy.ip_address != "truncate" && privacy.ip_address != "drop")
    problems.push_back({"privacy.ip_address", "must be full, truncate or drop, not \"" + privacy.ip_address + "\""});
  if (privacy.user_agent != "full" && privacy.user_agent != "drop")
    problems.push_back({"privacy.user_agent", "must be full or drop, not \"" + privacy.user_agent + "\""});

  if (c.api_keys.empty() && c.jwt_sources.empty())
    problems.push_back({"api_keys", "no API key: add [[api_keys]] or set CALIPER_API_KEYS (or add [[jwt_sources]])"});
  std::set<std::string> names;
  for (std::size_t n = 0; n < c.jwt_sources.size(); ++n) {  // both kinds of name are stored as source
    const auto& name = c.jwt_sources[n].name;
    const std::string where = "jwt_sources[" + std::to_string(n) + "].name";
    if (name.empty()) problems.push_back({where, "must not be empty"});
    else if (name.size() > max_source_bytes)
      problems.push_back({where, "must be at most " + std::to_string(max_source_bytes) + " bytes (it is stored as source)"});
    else if (!names.insert(name).second) problems.push_back({where, "duplicate name " + name});
  }
  for (std::size_t n = 0; n < c.api_keys.size(); ++n) {
    const auto& k = c.api_keys[n];
    const std::string where = "api_keys[" + std::to_string(n) + "]";
    if (k.name.empty()) problems.push_back({where + ".name", "must not be empty"});
    else if (k.name.size() > max_source_bytes)
      problems.push_back({where + ".name", "must be at most " + std::to_string(max_source_bytes) +
                                               " bytes (it is stored as source, in the key of caliper.session_rows)"});
    else if (!names.insert(k.name).second)
      problems.push_back({where + ".name", "duplicate name " + k.name + " (api_keys and jwt_sources share names)"});
    const bool unreadable = std::any_of(problems.begin(), problems.end(),
                                        [&](const problem& p) { return p.key == where + ".secret_file"; });
    if (!unreadable && k.secret.size() < 16)
      problems.push_back({where + ".secret", "must be at least 16 characters"});
    for (const auto& other : c.api_keys)
      if (&other < &k && other.secret == k.secret && !k.secret.empty())
        problems.push_back({where + ".secret", "the same secret is used by another key"});
  }
}

}  // namespace

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

load_result load(const std::string& path, const env_lookup& env, bool path_optional) {
  load_result result;
  toml::table root;
  std::ifstream probe(path);
  if (!probe) {
    if (!path_optional) result.problems.push_back({"--config", "cannot read " + path});
  } else {
    try {
      root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      result.problems.push_back({"--config", path + ":" + std::to_string(where.line) + ":" +
                                                  std::to_string(where.column) + ": " + std::string(e.description())});
      return result;
    }
  }
  reader r(root, env, result.problems);
  read_settings(r, result.cfg);
  r.report_unknown();
  read_api_keys(root, env, result.cfg, result.problems);
  read_jwt_sources(root, result.cfg, result.problems);
  validate(result.cfg, result.problems);
  return result;
}

}  // namespace caliper_sessiond::config
