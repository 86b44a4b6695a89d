// The JWKS refresher's bounds (issue 13): an unknown-kid refetch ends within the fetch timeout
// even when the JWKS server never answers, and a second refetch within min_refetch does not
// fetch again. The server here accepts and then stays silent.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <future>

#include "caliper_sessiond/metrics/registry.hpp"
#include "jwks_refresher.hpp"

namespace http = caliper_sessiond::http;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

/// Listens on 127.0.0.1; connections queue in the backlog and never get a byte.
struct silent_server {
  net::io_context ioc;
  net::ip::tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), 0}};
  std::string url() const { return "https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/jwks"; }
};

std::string errors_of(const caliper_sessiond::metrics::registry& m) {
  const auto text = m.render();
  const std::string key = "caliper_jwks_refresh_errors_total{source=\"silent\"} ";
  const auto at = text.find(key);
  return at == std::string::npos ? "<absent>" : text.substr(at + key.size(), text.find('\n', at) - at - key.size());
}

http::jwks_refresher::options options() {
  http::jwks_refresher::options o;
  o.fetch_timeout = 300ms;
  o.min_refetch = 60s;
  return o;
}

/// Calls refetch() and waits for its callback; how long that took.
std::chrono::steady_clock::duration timed_refetch(http::jwks_refresher& r) {
  std::promise<void> done;
  const auto start = std::chrono::steady_clock::now();
  r.refetch([&done] { done.set_value(); });
  EXPECT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  return std::chrono::steady_clock::now() - start;
}

}  // namespace

TEST(jwks_refresher, refetch_against_a_silent_server_ends_within_the_fetch_timeout) {
  silent_server server;
  caliper_sessiond::metrics::registry metrics;
  caliper_sessiond::config::jwt_source source;
  source.name = "silent";
  source.jwks_url = server.url();
  http::jwks_refresher refresher({source}, metrics, options());
  std::string error;
  ASSERT_TRUE(refresher.start(error)) << error;
  // The first refetch joins the fetch made at start, the second is allowed once; both time out.
  EXPECT_LT(timed_refetch(refresher), 3s);
  EXPECT_LT(timed_refetch(refresher), 3s);
  EXPECT_EQ(errors_of(metrics), "2");
  EXPECT_FALSE(refresher.find("any"));
}

TEST(jwks_refresher, a_second_refetch_within_min_refetch_does_not_fetch) {
  silent_server server;
  caliper_sessiond::metrics::registry metrics;
  caliper_sessiond::config::jwt_source source;
  source.name = "silent";
  source.jwks_url = server.url();
  http::jwks_refresher refresher({source}, metrics, options());
  std::string error;
  ASSERT_TRUE(refresher.start(error)) << error;
  timed_refetch(refresher);  // joins the start fetch
  timed_refetch(refresher);  // the one refetch of the minute
  EXPECT_LT(timed_refetch(refresher), 200ms);
  EXPECT_EQ(errors_of(metrics), "2");
}

TEST(jwks_url, https_urls_are_split_and_others_refused) {
  const auto u = http::parse_https_url("https://sso.example.com:8443/api/jwks?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "sso.example.com");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/api/jwks?x=1");
  const auto v6 = http::parse_https_url("https://[::1]/k");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "443");
  for (const char* bad : {"http://a/", "https://", "https://:443/", "https://u:p@a/", "https://a:x/", "https://[::1/"})
    EXPECT_FALSE(http::parse_https_url(bad)) << bad;
}
