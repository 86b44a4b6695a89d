#include "server_state.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

#include "caliper_sessiond/caliper/session_event.hpp"

namespace caliper_sessiond::http {

connection_registry::handle connection_registry::add(closer close_if_idle) {
  std::lock_guard lock(mutex_);
  return items_.insert(items_.end(), std::move(close_if_idle));
}

void connection_registry::remove(handle h) {
  std::lock_guard lock(mutex_);
  items_.erase(h);
}

std::size_t connection_registry::size() const {
  std::lock_guard lock(mutex_);
  return items_.size();
}

void connection_registry::close_idle() {
  std::lock_guard lock(mutex_);
  for (auto& c : items_) c();
}

server_state::server_state(const config::config& c, store::event_sink& w, metrics::registry& m)
    : cfg(c),
      sink(w),
      metrics(m),
      limits(c.server.max_connections, c.server.max_connections_per_ip),
      requests(m.counters("caliper_http_requests_total", "HTTP requests by route and status.")),
      events(m.counters("caliper_events_total",
                        "Events received, by action and outcome: SessionEvents accepted (answered 200) or refused (503), "
                        "rejected as invalid, other events and entities skipped.")),
      events_skipped(events.with(R"(action="other",outcome="skipped")")),
      events_rejected(events.with(R"(action="unknown",outcome="rejected")")),
      ingest_ok(requests.with(R"(route="ingest",status="200")")) {
  auto& refusals = m.counters("caliper_http_connections_refused_total",
                              "Connections closed at accept, by the limit that refused them.");
  refused[0] = &refusals.with(R"(reason="max_connections")");
  refused[1] = &refusals.with(R"(reason="max_connections_per_ip")");
  for (std::size_t a = 0; a < events_by_action.size(); ++a) {
    const std::string action(caliper::to_string(static_cast<caliper::session_action>(a)));
    events_by_action[a][0] = &events.with("action=\"" + action + "\",outcome=\"accepted\"");
    events_by_action[a][1] = &events.with("action=\"" + action + "\",outcome=\"refused\"");
  }
  if (!c.jwt_sources.empty()) jwks = std::make_unique<jwks_refresher>(c.jwt_sources, m, jwks_refresher::options{});
}

std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file, const std::string& key_file,
                                                            const std::string& ciphers, std::string& error) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                   ec);
  // The server picks the suite: a client that lists a weak one first does not get it.
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(ctx->native_handle(), ciphers.c_str()) != 1) {
    ERR_clear_error();
    error = "server.tls_ciphers selects no TLS 1.2 cipher suite: \"" + ciphers + "\"";
    return nullptr;
  }
  if (!ec) ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    error = "cannot load the TLS certificate " + cert_file + ": " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    error = "cannot load the TLS key " + key_file + ": " + ec.message();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    error = "the TLS key " + key_file + " does not match the certificate " + cert_file;
    return nullptr;
  }
  return ctx;
}

}  // namespace caliper_sessiond::http
