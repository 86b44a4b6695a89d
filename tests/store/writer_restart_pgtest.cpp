// Stops and starts the shared test cluster: registered RUN_SERIAL so no other test runs
// meanwhile, and a guard restarts the server whatever happens.
#include <gtest/gtest.h>

#include "caliper_sessiond/store/batch_writer.hpp"
#include "caliper_sessiond/store/migrations.hpp"
#include "pg_test_env.hpp"
#include "store_test_support.hpp"

namespace caliper_sessiond::store {
namespace {

using namespace std::chrono_literals;
using caliper_sessiond::testing::pg_test_env;
using testing::make_batch;
using testing::make_completion;
using testing::wait_done;
using testing::wait_until;

/// Stops the cluster for its lifetime; restarts it on every exit path (failed assertions too).
class server_outage {
public:
  explicit server_outage(const pg_test_env& env) : env_(env) { env_.stop_server(); }
  ~server_outage() {
    try {
      end();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not restart the test cluster: " << e.what();
    }
  }
  server_outage(const server_outage&) = delete;
  server_outage& operator=(const server_outage&) = delete;

  void end() {
    if (running_) return;
    env_.start_server();
    running_ = true;
  }

private:
  const pg_test_env& env_;
  bool running_ = false;
};

TEST(writer_restart_pgtest, writer_recovers_after_postgresql_restarts) {
  const auto env = pg_test_env::from_environment();
  if (!env) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
  const std::string url = env->create_database("restart");
  ASSERT_TRUE(migrate(url).ok);

  auto o = testing::test_options(url);
  o.commit_timeout = 1s;
  batch_writer w(o);
  w.start();
  ASSERT_TRUE(wait_until([&] { return w.stats().connected.load(); }, 10s));
  {
    auto [done, f] = make_completion();
    ASSERT_TRUE(w.submit(make_batch(1, 3), done));
    ASSERT_TRUE(wait_done(f, 10s));
    ASSERT_EQ(f.get().result, outcome::committed);
  }
  {
    server_outage outage(*env);
    // During the outage a submit is refused, or accepted (the writer has not noticed yet)
    // and then failed as unavailable at the commit timeout: never committed.
    auto [done, f] = make_completion();
    if (w.submit(make_batch(100, 3), done)) {
      ASSERT_TRUE(wait_done(f, 10s)) << "an accepted batch was never completed";
      EXPECT_EQ(f.get().result, outcome::unavailable);
    }
    EXPECT_TRUE(wait_until([&] { return !w.stats().connected.load(); }, 10s))
        << "the writer did not notice the outage";
    EXPECT_FALSE(w.ready());
    EXPECT_FALSE(w.submit(make_batch(200, 3), [](outcome, const commit_report&) {}));
    outage.end();
  }
  ASSERT_TRUE(pg_test_env::wait_until_reachable(url, 30));
  ASSERT_TRUE(wait_until([&] { return w.stats().connected.load(); }, 15s)) << "never reconnected";
  auto [done, f] = make_completion();
  ASSERT_TRUE(w.submit(make_batch(300, 3), done));
  ASSERT_TRUE(wait_done(f, 15s));
  const auto r = f.get();
  EXPECT_EQ(r.result, outcome::committed);
  EXPECT_EQ(r.report.inserted, 3U);
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.session_events "
                                     "WHERE event_time >= '2024-03-05 07:08:09.0003+00'"),
            "3");
  EXPECT_GT(w.stats().db_errors.load(), 0U);
}

}  // namespace
}  // namespace caliper_sessiond::store
