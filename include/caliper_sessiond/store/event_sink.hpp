#pragma once
/// Where the http layer hands a request's events: the batch writer (durability "database")
/// or the journal in front of it (durability "journal"). No libpq, no Beast.

#include "caliper_sessiond/store/ingest_batch.hpp"

namespace caliper_sessiond::store {

class event_sink {
public:
  virtual ~event_sink() = default;

  /// Takes the batch. Returns false at once, without calling `done`, when it cannot accept
  /// durably now (the caller answers 503). Otherwise `done` is called exactly once, on some
  /// other thread: outcome::committed only when the batch is durable.
  virtual bool submit(ingest_batch batch, completion done) = 0;

  /// True when a submit now would most likely be accepted (for /readyz).
  virtual bool ready() const noexcept = 0;
};

}  // namespace caliper_sessiond::store
