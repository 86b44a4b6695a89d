#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "caliper_sessiond/config/config.hpp"
#include "listen_address.hpp"
#include "pg_test_env.hpp"

namespace cfg = caliper_sessiond::config;
using caliper_sessiond::testing::source_dir;

namespace {

cfg::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string fixture(const std::string& name) { return source_dir() + "/tests/fixtures/config/" + name; }

bool has_problem(const cfg::load_result& r, const std::string& key) {
  for (const auto& p : r.problems)
    if (p.key == key) return true;
  return false;
}

}  // namespace

TEST(config, minimal_file_loads_with_defaults) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(r.ok()) << r.problems.front().key << ": " << r.problems.front().message;
  EXPECT_EQ(r.cfg.server.host, "127.0.0.1");
  EXPECT_EQ(r.cfg.server.port, 9443);
  EXPECT_EQ(r.cfg.server.path, "/caliper");
  EXPECT_FALSE(r.cfg.server.tls);
  EXPECT_EQ(r.cfg.database.url, "postgresql:///caliper_test");
  ASSERT_EQ(r.cfg.api_keys.size(), 1u);
  EXPECT_EQ(r.cfg.api_keys[0].name, "learn-prod");
  EXPECT_EQ(r.cfg.api_keys[0].secret, "0123456789abcdef0123");
}

TEST(config, environment_overrides_file) {
  auto r = cfg::load(fixture("minimal.toml"),
                     env_of({{"CALIPER_DATABASE_URL", "host=/tmp dbname=x"},
                             {"CALIPER_SERVER_LISTEN", "[::1]:8000"},
                             {"CALIPER_DATABASE_BATCH_MAX_EVENTS", "50"},
                             {"CALIPER_SERVER_TLS", "false"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.database.url, "host=/tmp dbname=x");
  EXPECT_EQ(r.cfg.server.host, "::1");
  EXPECT_EQ(r.cfg.server.port, 8000);
  EXPECT_EQ(r.cfg.database.batch_max_events, 50u);
}

TEST(config, text_key_cache_mib_is_read_and_bounded) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.database.text_key_cache_mib, 16u);
  r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_DATABASE_TEXT_KEY_CACHE_MIB", "64"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.database.text_key_cache_mib, 64u);
  for (const char* bad : {"0", "4097"}) {
    r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_DATABASE_TEXT_KEY_CACHE_MIB", bad}}));
    EXPECT_FALSE(r.ok()) << bad;
    ASSERT_FALSE(r.problems.empty()) << bad;
    EXPECT_EQ(r.problems[0].key, "database.text_key_cache_mib") << bad;
  }
}

TEST(config, api_keys_from_environment_are_added) {
  auto r = cfg::load(fixture("minimal.toml"),
                     env_of({{"CALIPER_API_KEYS", "canvas:aaaaaaaaaaaaaaaaaaaa,moodle:bbbbbbbbbbbbbbbbbbbb"}}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.cfg.api_keys.size(), 3u);
  EXPECT_EQ(r.cfg.api_keys[1].name, "canvas");
  EXPECT_EQ(r.cfg.api_keys[2].secret, "bbbbbbbbbbbbbbbbbbbb");
}

TEST(config, every_problem_names_its_key) {
  auto r = cfg::load(fixture("broken.toml"), env_of({}));
  EXPECT_FALSE(r.ok());
  for (const char* key : {"server.listen", "server.path", "server.body_limit", "server.tls_cert", "server.tls_key",
                          "server.colour", "database.connections", "log.level", "api_keys[0].secret",
                          "api_keys[1].name", "api_keys[1].secret_file"}) {
    EXPECT_TRUE(has_problem(r, key)) << "no problem reported for " << key;
  }
}

TEST(config, bad_environment_value_is_a_problem) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_DATABASE_CONNECTIONS", "many"}}));
  EXPECT_TRUE(has_problem(r, "database.connections"));
}

TEST(config, syntax_error_names_line) {
  auto r = cfg::load(fixture("syntax-error.toml"), env_of({}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problems[0].key, "--config");
  EXPECT_NE(r.problems[0].message.find("syntax-error.toml:1"), std::string::npos) << r.problems[0].message;
}

TEST(config, missing_file_is_a_problem) {
  auto r = cfg::load(fixture("does-not-exist.toml"), env_of({}));
  EXPECT_TRUE(has_problem(r, "--config"));
}

TEST(config, shipped_example_is_valid_apart_from_files_it_names) {
  auto r = cfg::load(source_dir() + "/config/caliper-sessiond.toml", env_of({}));
  for (const auto& p : r.problems) {
    const bool about_missing_file = p.message.starts_with("cannot read");
    EXPECT_TRUE(about_missing_file) << p.key << ": " << p.message;
  }
}

TEST(listen_address, parses_ipv4_ipv6_and_rejects_junk) {
  auto a = cfg::parse_listen("0.0.0.0:8443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 8443);
  auto b = cfg::parse_listen("[::]:443");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::");
  EXPECT_FALSE(cfg::parse_listen("8443"));
  EXPECT_FALSE(cfg::parse_listen("host:99999"));
  EXPECT_FALSE(cfg::parse_listen("::1:80"));
  EXPECT_FALSE(cfg::parse_listen("host:"));
}

TEST(config, journal_is_the_default_durability) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.journal.durability, "journal");
  EXPECT_TRUE(r.cfg.journal.enabled());
  EXPECT_EQ(r.cfg.journal.dir, "/var/lib/caliper-sessiond/journal");
  EXPECT_EQ(r.cfg.journal.max_bytes, 1ull << 30);
  EXPECT_EQ(r.cfg.journal.segment_bytes, 64ull << 20);
  EXPECT_EQ(r.cfg.database.drain_timeout, std::chrono::milliseconds(10'000));
}

TEST(config, batch_delay_defaults_by_durability_and_can_be_set) {
  auto journal = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(journal.ok());
  EXPECT_FALSE(journal.cfg.database.batch_max_delay);
  EXPECT_EQ(cfg::batch_max_delay(journal.cfg), std::chrono::milliseconds(50));
  auto database = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_DURABILITY", "database"}}));
  ASSERT_TRUE(database.ok());
  EXPECT_EQ(cfg::batch_max_delay(database.cfg), std::chrono::microseconds(0));
  auto set = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_DATABASE_BATCH_MAX_DELAY_US", "0"}}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(cfg::batch_max_delay(set.cfg), std::chrono::microseconds(0));  // 0 is a value, not "unset"
  auto bad = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_DATABASE_BATCH_MAX_DELAY_US", "-1"}}));
  EXPECT_TRUE(has_problem(bad, "database.batch_max_delay_us"));
}

TEST(config, journal_settings_from_environment) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_DURABILITY", "database"},
                                                     {"CALIPER_JOURNAL_DIR", "/srv/j"},
                                                     {"CALIPER_JOURNAL_MAX_BYTES", "1048576"},
                                                     {"CALIPER_JOURNAL_SEGMENT_BYTES", "65536"},
                                                     {"CALIPER_JOURNAL_DRAIN_INFLIGHT_EVENTS", "500"},
                                                     {"CALIPER_JOURNAL_MEMORY_BYTES", "0"},
                                                     {"CALIPER_DATABASE_DRAIN_TIMEOUT_MS", "2500"}}));
  ASSERT_TRUE(r.ok()) << r.problems.front().key << ": " << r.problems.front().message;
  EXPECT_FALSE(r.cfg.journal.enabled());
  EXPECT_EQ(r.cfg.journal.dir, "/srv/j");
  EXPECT_EQ(r.cfg.journal.max_bytes, 1048576u);
  EXPECT_EQ(r.cfg.journal.segment_bytes, 65536u);
  EXPECT_EQ(r.cfg.journal.drain_inflight_events, 500u);
  EXPECT_EQ(r.cfg.journal.memory_bytes, 0u);
  EXPECT_EQ(cfg::load(fixture("minimal.toml"), env_of({})).cfg.journal.memory_bytes, 64u << 20);
  EXPECT_TRUE(has_problem(cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_MEMORY_BYTES", "-1"}})),
                          "journal.memory_bytes"));
  EXPECT_EQ(r.cfg.database.drain_timeout, std::chrono::milliseconds(2500));
}

TEST(config, journal_retain_seconds_defaults_to_600_and_is_bounded) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.journal.retain_seconds, 600u);
  auto off = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_RETAIN_SECONDS", "0"}}));
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off.cfg.journal.retain_seconds, 0u);
  auto bad = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_RETAIN_SECONDS", "-5"}}));
  EXPECT_TRUE(has_problem(bad, "journal.retain_seconds"));
  auto huge = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_RETAIN_SECONDS", "999999999"}}));
  EXPECT_TRUE(has_problem(huge, "journal.retain_seconds"));
}

TEST(config, unknown_durability_is_a_problem) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_DURABILITY", "memory"}}));
  EXPECT_TRUE(has_problem(r, "journal.durability"));
}

TEST(config, journal_bound_must_hold_two_segments) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_MAX_BYTES", "1048576"},
                                                     {"CALIPER_JOURNAL_SEGMENT_BYTES", "1048576"}}));
  EXPECT_TRUE(has_problem(r, "journal.max_bytes"));
  auto tiny = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_JOURNAL_SEGMENT_BYTES", "100"}}));
  EXPECT_TRUE(has_problem(tiny, "journal.segment_bytes"));
}

// Issue 11: the eventTime window and the text limits.

TEST(config, ingest_window_and_text_limits_have_their_defaults) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.ingest.event_time_past_days, 3650);
  EXPECT_EQ(r.cfg.ingest.event_time_future_seconds, 86'400);
  EXPECT_EQ(r.cfg.ingest.max_id_bytes, 2048u);
  EXPECT_EQ(r.cfg.ingest.max_user_agent_bytes, 1024u);
}

TEST(config, ingest_window_and_text_limits_can_be_set) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_INGEST_EVENT_TIME_PAST_DAYS", "400"},
                                                     {"CALIPER_INGEST_EVENT_TIME_FUTURE_SECONDS", "0"},
                                                     {"CALIPER_INGEST_MAX_ID_BYTES", "512"},
                                                     {"CALIPER_INGEST_MAX_USER_AGENT_BYTES", "4096"}}));
  ASSERT_TRUE(r.ok()) << r.problems.front().key << ": " << r.problems.front().message;
  EXPECT_EQ(r.cfg.ingest.event_time_past_days, 400);
  EXPECT_EQ(r.cfg.ingest.event_time_future_seconds, 0);
  EXPECT_EQ(r.cfg.ingest.max_id_bytes, 512u);
  EXPECT_EQ(r.cfg.ingest.max_user_agent_bytes, 4096u);
}

TEST(config, max_id_bytes_above_what_the_sessions_index_can_hold_is_a_problem) {
  EXPECT_TRUE(cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_INGEST_MAX_ID_BYTES", "2048"}})).ok());
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_INGEST_MAX_ID_BYTES", "2049"}}));
  EXPECT_TRUE(has_problem(r, "ingest.max_id_bytes"));
}

TEST(config, out_of_range_window_and_user_agent_limit_are_problems) {
  for (const auto& [var, key] : std::map<std::string, std::string>{
           {"CALIPER_INGEST_EVENT_TIME_PAST_DAYS", "ingest.event_time_past_days"},
           {"CALIPER_INGEST_EVENT_TIME_FUTURE_SECONDS", "ingest.event_time_future_seconds"},
           {"CALIPER_INGEST_MAX_USER_AGENT_BYTES", "ingest.max_user_agent_bytes"}}) {
    EXPECT_TRUE(has_problem(cfg::load(fixture("minimal.toml"), env_of({{var, "-1"}})), key)) << var;
    EXPECT_TRUE(has_problem(cfg::load(fixture("minimal.toml"), env_of({{var, "100000000"}})), key)) << var;
  }
}

TEST(config, api_key_name_longer_than_the_sessions_index_allows_is_a_problem) {
  const std::string name(129, 'n');
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_API_KEYS", name + ":cccccccccccccccccccc"}}));
  EXPECT_TRUE(has_problem(r, "api_keys[1].name"));
  auto ok = cfg::load(fixture("minimal.toml"),
                      env_of({{"CALIPER_API_KEYS", std::string(128, 'n') + ":cccccccccccccccccccc"}}));
  EXPECT_TRUE(ok.ok());
}

TEST(config, partitions_max_per_run_defaults_to_24_and_is_bounded) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.database.partitions_max_per_run, 24);
  auto set = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_DATABASE_PARTITIONS_MAX_PER_RUN", "6"}}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.cfg.database.partitions_max_per_run, 6);
  for (const char* bad : {"0", "241"}) {
    auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_DATABASE_PARTITIONS_MAX_PER_RUN", bad}}));
    EXPECT_TRUE(has_problem(r, "database.partitions_max_per_run")) << bad;
  }
}

// [server] hardening settings (issue 11).
TEST(config, server_hardening_defaults) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(r.ok());
  const auto& s = r.cfg.server;
  EXPECT_EQ(s.max_connections_per_ip, 256u);
  EXPECT_EQ(s.handshake_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(s.keepalive_max_requests, 10'000u);
  EXPECT_EQ(s.keepalive_max, std::chrono::seconds(3600));
  EXPECT_EQ(s.tls_ciphers, cfg::default_tls_ciphers);
  EXPECT_EQ(s.metrics_listen, "");
  EXPECT_EQ(s.memory_trim_interval, std::chrono::milliseconds(10'000));
}

TEST(config, server_hardening_settings_from_environment) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_SERVER_MAX_CONNECTIONS_PER_IP", "8"},
                                                     {"CALIPER_SERVER_HANDSHAKE_TIMEOUT_MS", "1500"},
                                                     {"CALIPER_SERVER_KEEPALIVE_MAX_REQUESTS", "3"},
                                                     {"CALIPER_SERVER_KEEPALIVE_MAX_SECONDS", "60"},
                                                     {"CALIPER_SERVER_TLS_CIPHERS", "ECDHE+AESGCM"},
                                                     {"CALIPER_SERVER_METRICS_LISTEN", "127.0.0.1:9464"},
                                                     {"CALIPER_SERVER_MEMORY_TRIM_INTERVAL_MS", "0"}}));
  ASSERT_TRUE(r.ok()) << r.problems.front().key << ": " << r.problems.front().message;
  const auto& s = r.cfg.server;
  EXPECT_EQ(s.max_connections_per_ip, 8u);
  EXPECT_EQ(s.handshake_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(s.keepalive_max_requests, 3u);
  EXPECT_EQ(s.keepalive_max, std::chrono::seconds(60));
  EXPECT_EQ(s.tls_ciphers, "ECDHE+AESGCM");
  EXPECT_EQ(s.metrics_host, "127.0.0.1");
  EXPECT_EQ(s.metrics_port, 9464);
  EXPECT_EQ(s.memory_trim_interval, std::chrono::milliseconds(0));  // 0: never
}

TEST(config, server_hardening_values_out_of_range_are_problems) {
  for (const auto& [var, key] : std::map<std::string, std::string>{
           {"CALIPER_SERVER_MAX_CONNECTIONS_PER_IP", "server.max_connections_per_ip"},
           {"CALIPER_SERVER_HANDSHAKE_TIMEOUT_MS", "server.handshake_timeout_ms"},
           {"CALIPER_SERVER_KEEPALIVE_MAX_REQUESTS", "server.keepalive_max_requests"},
           {"CALIPER_SERVER_KEEPALIVE_MAX_SECONDS", "server.keepalive_max_seconds"}}) {
    EXPECT_TRUE(has_problem(cfg::load(fixture("minimal.toml"), env_of({{var, "0"}})), key)) << var;
  }
}

TEST(config, memory_trim_interval_out_of_range_is_a_problem) {
  for (const char* v : {"-1", "1", "999", "3600001", "often"})
    EXPECT_TRUE(has_problem(cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_SERVER_MEMORY_TRIM_INTERVAL_MS", v}})),
                            "server.memory_trim_interval_ms"))
        << v;
}

TEST(config, cipher_list_that_selects_nothing_is_a_problem) {
  for (const char* list : {"NOT-A-CIPHER", "", "TLS_AES_128_GCM_SHA256"}) {  // the last: a TLS 1.3 suite only
    auto r = cfg::load(fixture("minimal.toml"),
                       env_of({{"CALIPER_SERVER_TLS", "true"}, {"CALIPER_SERVER_TLS_CIPHERS", list}}));
    EXPECT_TRUE(has_problem(r, "server.tls_ciphers")) << list;
  }
}

TEST(config, cipher_list_is_not_checked_for_plain_http) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_SERVER_TLS_CIPHERS", "NOT-A-CIPHER"}}));
  EXPECT_FALSE(has_problem(r, "server.tls_ciphers"));
}

TEST(config, metrics_listen_must_be_host_and_port) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({{"CALIPER_SERVER_METRICS_LISTEN", "9464"}}));
  EXPECT_TRUE(has_problem(r, "server.metrics_listen"));
}

// [[jwt_sources]] (issue 13).
namespace {
cfg::load_result load_with(const std::string& extra, bool with_api_key = true) {
  char path[] = "/tmp/caliper-config-jwt-XXXXXX";
  const int fd = ::mkstemp(path);
  ::close(fd);
  std::ofstream(path) << "[server]\nlisten = \"127.0.0.1:9443\"\ntls = false\n[database]\nurl = \"postgresql:///x\"\n"
                      << (with_api_key ? "[[api_keys]]\nname = \"learn-prod\"\nsecret = \"0123456789abcdef0123\"\n" : "")
                      << extra;
  auto r = cfg::load(path, env_of({}));
  std::remove(path);
  return r;
}
}  // namespace

TEST(config, jwt_source_with_url_loads_with_defaults) {
  auto r = load_with("[[jwt_sources]]\nname = \"canvas-prod\"\njwks_url = \"https://jwks.example/jwks\"\n"
                     "allowed_accounts = [\"VicYj3cu5BIFpoZhDVU4DZumnlBrWi1grgJEzADs\"]\n");
  ASSERT_TRUE(r.ok()) << r.problems.front().key << ": " << r.problems.front().message;
  ASSERT_EQ(r.cfg.jwt_sources.size(), 1u);
  const auto& s = r.cfg.jwt_sources[0];
  EXPECT_EQ(s.name, "canvas-prod");
  EXPECT_EQ(s.refresh_minutes, 60);
  EXPECT_EQ(s.allowed_accounts, std::vector<std::string>{"VicYj3cu5BIFpoZhDVU4DZumnlBrWi1grgJEzADs"});
}

TEST(config, jwt_sources_alone_need_no_api_key) {
  auto r = load_with("[[jwt_sources]]\nname = \"canvas\"\njwks_url = \"https://jwks.example/jwks\"\n", false);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(has_problem(load_with("", false), "api_keys"));
}

TEST(config, jwt_source_needs_exactly_one_of_url_and_file) {
  EXPECT_TRUE(has_problem(load_with("[[jwt_sources]]\nname = \"c\"\n"), "jwt_sources[0]"));
  EXPECT_TRUE(has_problem(load_with("[[jwt_sources]]\nname = \"c\"\njwks_url = \"https://a/\"\njwks_file = \"" +
                                    fixture("minimal.toml") + "\"\n"),
                          "jwt_sources[0]"));
}

TEST(config, jwt_source_url_must_be_https_and_file_readable) {
  EXPECT_TRUE(has_problem(load_with("[[jwt_sources]]\nname = \"c\"\njwks_url = \"http://a/jwks\"\n"),
                          "jwt_sources[0].jwks_url"));
  EXPECT_TRUE(has_problem(load_with("[[jwt_sources]]\nname = \"c\"\njwks_file = \"/nonexistent/jwks.json\"\n"),
                          "jwt_sources[0].jwks_file"));
}

TEST(config, jwt_source_refresh_minutes_is_bounded) {
  const std::string base = "[[jwt_sources]]\nname = \"c\"\njwks_url = \"https://a/\"\njwks_refresh_minutes = ";
  EXPECT_EQ(load_with(base + "5\n").cfg.jwt_sources.at(0).refresh_minutes, 5);
  EXPECT_TRUE(has_problem(load_with(base + "0\n"), "jwt_sources[0].jwks_refresh_minutes"));
  EXPECT_TRUE(has_problem(load_with(base + "1441\n"), "jwt_sources[0].jwks_refresh_minutes"));
}

TEST(config, jwt_source_names_are_unique_across_api_keys_and_bounded) {
  EXPECT_TRUE(has_problem(load_with("[[jwt_sources]]\nname = \"learn-prod\"\njwks_url = \"https://a/\"\n"),
                          "api_keys[0].name"));
  EXPECT_TRUE(has_problem(load_with("[[jwt_sources]]\nname = \"" + std::string(129, 'n') + "\"\njwks_url = \"https://a/\"\n"),
                          "jwt_sources[0].name"));
  EXPECT_TRUE(has_problem(load_with("[[jwt_sources]]\njwks_url = \"https://a/\"\n"), "jwt_sources[0].name"));
}

TEST(config, jwt_source_unknown_setting_and_bad_accounts_are_problems) {
  const std::string base = "[[jwt_sources]]\nname = \"c\"\njwks_url = \"https://a/\"\n";
  EXPECT_TRUE(has_problem(load_with(base + "allowed_account = [\"x\"]\n"), "jwt_sources[0].allowed_account"));
  EXPECT_TRUE(has_problem(load_with(base + "allowed_accounts = \"x\"\n"), "jwt_sources[0].allowed_accounts"));
  EXPECT_TRUE(has_problem(load_with(base + "allowed_accounts = [\"\"]\n"), "jwt_sources[0].allowed_accounts"));
}

// [privacy] (issue 15)
TEST(config, privacy_defaults_to_full) {
  auto r = cfg::load(fixture("minimal.toml"), env_of({}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.privacy.ip_address, "full");
  EXPECT_EQ(r.cfg.privacy.user_agent, "full");
}

TEST(config, privacy_modes_from_environment) {
  auto r = cfg::load(fixture("minimal.toml"),
                     env_of({{"CALIPER_PRIVACY_IP_ADDRESS", "truncate"}, {"CALIPER_PRIVACY_USER_AGENT", "drop"}}));
  ASSERT_TRUE(r.ok()) << r.problems.front().key << ": " << r.problems.front().message;
  EXPECT_EQ(r.cfg.privacy.ip_address, "truncate");
  EXPECT_EQ(r.cfg.privacy.user_agent, "drop");
}

TEST(config, privacy_unknown_modes_are_problems) {
  auto r = cfg::load(fixture("minimal.toml"),
                     env_of({{"CALIPER_PRIVACY_IP_ADDRESS", "mask"}, {"CALIPER_PRIVACY_USER_AGENT", "truncate"}}));
  EXPECT_TRUE(has_problem(r, "privacy.ip_address"));
  EXPECT_TRUE(has_problem(r, "privacy.user_agent"));
}
