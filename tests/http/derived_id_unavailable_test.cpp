// When no event id can be derived (SHA-1 unavailable), the request gets 503 with Retry-After
// and nothing reaches the store. Runs the real per-connection code (serve_requests and the
// request handler) on an in-memory stream. The API key ring gets a digest of its own: in a
// process where OpenSSL's SHA-1 fails, its SHA-256 fails too, and no key would match.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <memory>
#include <string>

#include "caliper_sessiond/metrics/registry.hpp"
#include "caliper_sessiond/store/event_sink.hpp"
#include "in_memory_connection.hpp"
#include "openssl_guard.hpp"
#include "pg_test_env.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using namespace caliper_sessiond;

class counting_sink final : public store::event_sink {
public:
  std::size_t batches = 0;
  bool submit(store::ingest_batch, store::completion done) override {
    ++batches;
    done(store::outcome::committed, {});
    return true;
  }
  bool ready() const noexcept override { return true; }
};

/// Not a hash: the test's key ring must not need OpenSSL. Equal keys give equal bytes.
bool plain_digest(std::string_view data, std::array<unsigned char, 32>& out) {
  out.fill(0);
  std::copy_n(data.begin(), std::min(data.size(), out.size()), out.begin());
  return true;
}

/// Posts `body` once over a fresh connection and returns everything the server wrote.
std::string post(http::server_state& st, const http::reloadable& snap, const std::string& body) {
  net::io_context ioc;
  st.relay = std::make_shared<http::completion_relay>(ioc.get_executor());
  http::testing::in_memory_stream server(ioc);
  beast::test::stream client(ioc);
  server.connect(client);
  server.append("POST /caliper HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer key-0123456789abcdef\r\n"
                "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  client.close();
  auto conn = std::make_shared<http::testing::in_memory_connection>(ioc.get_executor());
  net::co_spawn(ioc,
                http::testing::serve_in_memory(server, st, snap, *conn,
                                               http::connection_state::clock::now() + std::chrono::seconds(10)),
                net::detached);
  ioc.run();
  return client.str();
}

TEST(DerivedIdUnavailable, RequestGets503WithRetryAfterAndNothingIsStored) {
  config::config cfg;
  cfg.server.tls = false;
  cfg.log.access = false;
  cfg.api_keys.push_back({"moodle", "key-0123456789abcdef"});
  counting_sink sink;
  metrics::registry registry;
  http::server_state st(cfg, sink, registry);
  const http::reloadable snap{http::key_ring(cfg.api_keys, plain_digest), nullptr};
  // Caliper 1.0 events carry no id: each needs a derived one (UUIDv5, SHA-1).
  const std::string body =
      caliper_sessiond::testing::read_file(caliper_sessiond::testing::source_dir() + "/tests/fixtures/moodle-v1p0-loggedin-timedout.json");

  ASSERT_NE(post(st, snap, body).find("HTTP/1.1 200 "), std::string::npos);
  ASSERT_EQ(sink.batches, 1U);

  const std::string out = [&] {
    const caliper_sessiond::testing::fips_only_openssl guard;
    return post(st, snap, body);
  }();
  EXPECT_EQ(out.rfind("HTTP/1.1 503 ", 0), 0U) << out;
  EXPECT_NE(out.find("Retry-After:"), std::string::npos) << out;
  EXPECT_NE(out.find("cannot derive event ids now; retry later"), std::string::npos) << out;
  EXPECT_EQ(sink.batches, 1U) << "a refused request must not reach the store, not even as a reject";
}

}  // namespace
