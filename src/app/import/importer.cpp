#include "importer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iterator>
#include <thread>

#include "caliper_sessiond/caliper/parser.hpp"
#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/config/parse_limits.hpp"

namespace caliper_sessiond::app {
namespace {

std::string rfc3339(std::int64_t us) {
  const std::time_t t = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

struct importer::impl {
  impl(const config::config& c, store::event_sink& s, std::string src, std::int64_t now)
      : cfg(c), sink(s), source(std::move(src)), now_us(now), parser(config::parse_limits(c.ingest, c.privacy)) {
    wrap_header = R"({"sensor":)";
    caliper::append_json_string(wrap_header, source);
    wrap_header += R"(,"sendTime":")" + rfc3339(now_us) + R"(","data":[)";
    pending.source = source;
    pending.received_at_us = now_us;
    // Enough in flight to keep every connection busy, never more than the queue takes.
    max_in_flight = std::max<std::size_t>(1, std::min(cfg.database.queue_max_events / 2,
                                                      cfg.database.batch_max_events * cfg.database.connections * 4));
    // Wrapping adds two levels (envelope object, data array): deeper events go alone to the parser.
    // Failing here (out of memory) leaves parse() to allocate, with simdjson's default depth.
    const std::size_t depth = cfg.ingest.max_depth > 3 ? cfg.ingest.max_depth - 2 : 1;
    if (dom.allocate(64 * 1024, depth) != simdjson::SUCCESS) return;
  }

  const config::config& cfg;
  store::event_sink& sink;
  std::string source;
  std::int64_t now_us;
  caliper::envelope_parser parser;
  simdjson::dom::parser dom;
  std::string wrap_header;
  std::string wrapped;  ///< the envelope being filled with bare events
  std::size_t wrapped_count = 0;
  store::ingest_batch pending;
  std::size_t max_in_flight;
  std::uint64_t skipped = 0;

  mutable std::mutex m;  // guards what the writer's completions touch
  std::condition_variable cv;
  std::size_t in_flight = 0;  ///< rows submitted, not yet settled
  import_counts committed;
  std::string failure;
};

importer::importer(const config::config& cfg, store::event_sink& sink, std::string source, std::int64_t now_us)
    : impl_(std::make_unique<impl>(cfg, sink, std::move(source), now_us)) {}

importer::~importer() {
  // Completions refer to impl_: never leave with a batch in flight.
  std::unique_lock lk(impl_->m);
  impl_->cv.wait(lk, [this] { return impl_->in_flight == 0; });
}

void importer::fail(std::string why) {
  std::lock_guard lk(impl_->m);
  if (impl_->failure.empty()) impl_->failure = std::move(why);
}

std::string importer::failure() const {
  std::lock_guard lk(impl_->m);
  return impl_->failure;
}

void importer::skip_record() { ++impl_->skipped; }

import_counts importer::counts() const {
  std::lock_guard lk(impl_->m);
  import_counts c = impl_->committed;
  c.skipped = impl_->skipped;
  return c;
}

importer::kind importer::classify(std::string& record) {
  record.reserve(record.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  auto e = impl_->dom.parse(record.data(), record.size(), false).get(root);
  if (e == simdjson::UTF8_ERROR) {
    // The parser would read a sanitized copy (text rule): classify that copy too.
    record = caliper::sanitize_text(record);
    record.reserve(record.size() + simdjson::SIMDJSON_PADDING);
    e = impl_->dom.parse(record.data(), record.size(), false).get(root);
  }
  if (e) return kind::unknown;
  simdjson::dom::object object;
  if (root.get_object().get(object)) return kind::event;  // an IRI or other entry: the parser skips it
  simdjson::dom::element data;
  return object.at_key("data").get(data) == simdjson::SUCCESS ? kind::envelope : kind::event;
}

bool importer::add(std::string& record) {
  switch (classify(record)) {
    case kind::event: return add_event(record);
    case kind::envelope:
    case kind::unknown: return parse_envelope(record);  // not JSON: refused and recorded as serve does
  }
  return true;
}

bool importer::add_event(std::string_view record) {
  auto& i = *impl_;
  const bool full = i.wrapped_count >= std::min(i.cfg.ingest.max_events, i.cfg.database.batch_max_events) ||
                    i.wrapped.size() + record.size() + 2 > i.cfg.server.body_limit;
  if (i.wrapped_count > 0 && full && !flush_wrapped()) return false;
  if (i.wrapped_count == 0) i.wrapped = i.wrap_header;
  else i.wrapped += ',';
  i.wrapped += record;
  ++i.wrapped_count;
  return true;
}

bool importer::flush_wrapped() {
  auto& i = *impl_;
  if (i.wrapped_count == 0) return true;
  i.wrapped += "]}";
  i.wrapped_count = 0;
  return parse_envelope(i.wrapped);
}

bool importer::parse_envelope(std::string& body) {
  auto& i = *impl_;
  auto r = i.parser.parse(body, i.source, i.now_us);
  if (r.error && r.error->status == 503) {
    fail("cannot derive event ids: " + r.error->detail);
    return false;
  }
  if (r.error) {
    i.pending.rejects.push_back(
        caliper::rejected_request(r.error->status, r.error->title, r.error->detail, body, i.cfg.ingest.reject_raw_bytes,
                                  config::privacy_options(i.cfg.privacy)));
    ++events_read_;
  } else {
    i.skipped += r.skipped;
    events_read_ += r.events.size() + r.rejects.size();
    std::move(r.events.begin(), r.events.end(), std::back_inserter(i.pending.events));
    std::move(r.rejects.begin(), r.rejects.end(), std::back_inserter(i.pending.rejects));
  }
  if (i.pending.events.size() + i.pending.rejects.size() < i.cfg.database.batch_max_events) return true;
  return submit_pending();
}

bool importer::submit_pending() {
  auto& i = *impl_;
  const std::size_t rows = i.pending.events.size() + i.pending.rejects.size();
  if (rows == 0) return true;
  const auto deadline = std::chrono::steady_clock::now() + i.cfg.database.commit_timeout;
  {
    // Back-pressure: constant memory however long the file, and the writer's queue never overflows.
    std::unique_lock lk(i.m);
    i.cv.wait(lk, [&] { return !i.failure.empty() || i.in_flight == 0 || i.in_flight + rows <= i.max_in_flight; });
    if (!i.failure.empty()) return false;
  }
  // The writer reconnects on its own: give it until database.commit_timeout, polling (no event to wait on).
  while (!i.sink.ready() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard lk(i.m);
    i.in_flight += rows;
  }
  auto done = [&i, rows](store::outcome o, const store::commit_report& report) {
    std::lock_guard lk(i.m);
    i.in_flight -= rows;
    if (o == store::outcome::committed) {
      i.committed.stored += report.inserted;
      i.committed.duplicates += report.duplicates;
      i.committed.rejected += report.rejects;
    } else if (i.failure.empty()) {
      i.failure = "a batch was not committed within database.commit_timeout (is the database up and migrated?)";
    }
    i.cv.notify_all();
  };
  store::ingest_batch batch{i.source, i.now_us, {}, {}};
  std::swap(batch, i.pending);
  if (!i.sink.submit(std::move(batch), done)) {
    {
      std::lock_guard lk(i.m);
      i.in_flight -= rows;
    }
    fail("the database does not take events (unreachable, or the writer's queue is full)");
    return false;
  }
  return true;
}

bool importer::finish() {
  const bool submitted = flush_wrapped() && submit_pending();
  std::unique_lock lk(impl_->m);
  impl_->cv.wait(lk, [this] { return impl_->in_flight == 0; });
  return submitted && impl_->failure.empty();
}

}  // namespace caliper_sessiond::app
