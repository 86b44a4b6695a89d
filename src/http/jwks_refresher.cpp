#include "jwks_refresher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "caliper_sessiond/metrics/thread_name.hpp"

namespace caliper_sessiond::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// GET `url` over HTTPS, the peer verified against OpenSSL's default trust store
/// (SSL_CERT_FILE / SSL_CERT_DIR honoured); the body, or "" with `error`.
net::awaitable<std::string> fetch_https(const https_url& url, net::ssl::context& tls, std::chrono::milliseconds timeout,
                                        std::size_t max_bytes, std::string& error) {
  auto ex = co_await net::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  net::ip::tcp::resolver resolver(ex);
  net::steady_timer resolve_deadline(ex, deadline);  // getaddrinfo has no timeout of its own
  resolve_deadline.async_wait([&resolver](boost::system::error_code ec) {
    if (!ec) resolver.cancel();
  });
  auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, nothrow);
  resolve_deadline.cancel();
  if (rec) {
    error = "cannot resolve " + url.host + ": " + rec.message();
    co_return std::string{};
  }
  beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
  boost::system::error_code ip_ec;
  (void)net::ip::make_address(url.host, ip_ec);
  const bool is_ip = !ip_ec;
  auto* param = SSL_get0_param(stream.native_handle());
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
    X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
  }
  beast::get_lowest_layer(stream).expires_at(deadline);
  auto [cec, endpoint] = co_await beast::get_lowest_layer(stream).async_connect(endpoints, nothrow);
  (void)endpoint;
  if (cec) {
    error = "cannot connect to " + url.host + ":" + url.port + ": " + cec.message();
    co_return std::string{};
  }
  auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::client, nothrow);
  if (hec) {
    error = "TLS with " + url.host + ": " + hec.message();
    co_return std::string{};
  }
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, url.target, 11};
  req.set(bhttp::field::host, url.host);
  req.set(bhttp::field::accept, "application/json");
  req.set(bhttp::field::user_agent, "caliper-sessiond");
  auto [wec, wn] = co_await bhttp::async_write(stream, req, nothrow);
  (void)wn;
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_bytes);
  if (!wec) {
    auto [rec2, rn] = co_await bhttp::async_read(stream, buffer, parser, nothrow);
    (void)rn;
    // openssl s_server -WWW and some servers close without close_notify after the body.
    if (rec2 && !(rec2 == net::ssl::error::stream_truncated && parser.is_done())) {
      error = "reading the response of " + url.host + ": " + rec2.message();
      co_return std::string{};
    }
  } else {
    error = "sending the request to " + url.host + ": " + wec.message();
    co_return std::string{};
  }
  if (parser.get().result_int() != 200) {
    error = url.host + " answered " + std::to_string(parser.get().result_int());
    co_return std::string{};
  }
  co_return std::move(parser.get().body());
}

}  // namespace

std::optional<https_url> parse_https_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
  url.remove_prefix(scheme.size());
  https_url out;
  const auto slash = url.find('/');
  if (slash != std::string_view::npos) out.target = std::string(url.substr(slash));
  std::string_view authority = url.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // no credentials in URLs
  std::size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    colon = authority.size() > close + 1 && authority[close + 1] == ':' ? close + 1 : std::string_view::npos;
  } else {
    out.host = std::string(authority.substr(0, colon));
  }
  if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  if (out.host.empty() || out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return out;
}

struct jwks_refresher::source {
  config::jwt_source cfg;
  std::optional<https_url> url;
  mutable std::mutex mutex;
  std::shared_ptr<const jose::key_set> keys;  ///< guarded by mutex
  std::atomic<double> last_success{0};
  metrics::counter* errors = nullptr;
  metrics::log_throttle error_log{std::chrono::minutes(1)};
  // Only on the refresher's thread:
  std::unique_ptr<net::steady_timer> timer;
  bool fetching = true;  ///< the first fetch starts with the thread
  bool wake = false;
  std::optional<std::chrono::steady_clock::time_point> last_refetch;
  std::vector<std::function<void()>> waiters;
};

jwks_refresher::jwks_refresher(const std::vector<config::jwt_source>& sources, metrics::registry& metrics, options o)
    : options_(o) {
  auto& errors = metrics.counters("caliper_jwks_refresh_errors_total",
                                  "JWKS fetches or reads of a jwt source that failed (its last good keys are kept).");
  for (const auto& cfg : sources) {
    auto s = std::make_unique<source>();
    s->cfg = cfg;
    if (!cfg.jwks_url.empty()) s->url = parse_https_url(cfg.jwks_url);
    s->timer = std::make_unique<net::steady_timer>(ioc_);
    s->errors = &errors.with("source=\"" + cfg.name + "\"");
    sources_.push_back(std::move(s));
  }
  // One gauge name after the other: the exposition groups the samples of a name under one header.
  for (const auto& s : sources_)
    metrics.gauge("caliper_jwks_last_success_timestamp_seconds",
                  "When the JWKS of a jwt source was last fetched or read successfully (0: never).",
                  [p = s.get()] { return p->last_success.load(); }, "source=\"" + s->cfg.name + "\"");
  for (const auto& s : sources_)
    metrics.gauge("caliper_jwks_keys", "RS256 keys in the current JWKS of a jwt source.",
                  [p = s.get()] {
                    std::lock_guard lock(p->mutex);
                    return p->keys ? static_cast<double>(p->keys->size()) : 0.0;
                  },
                  "source=\"" + s->cfg.name + "\"");
}

jwks_refresher::~jwks_refresher() {
  // Pending waiters are dropped, not called: the server's io_context may be going away too,
  // and a dropped handler ends its coroutine (the server drains requests before this anyway).
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

void jwks_refresher::store(source& s, std::shared_ptr<const jose::key_set> keys) {
  std::string before;
  {
    std::lock_guard lock(s.mutex);
    if (s.keys) before = s.keys->kids();
    s.keys = keys;
  }
  s.last_success = now_seconds();
  if (before != keys->kids()) spdlog::info("jwks {}: {} key(s): {}", s.cfg.name, keys->size(), keys->kids());
}

void jwks_refresher::failed(source& s, const std::string& why) {
  s.errors->inc();
  if (const auto n = s.error_log.occur())
    spdlog::warn("jwks {}: {} failure(s) since the last report, keeping the last good keys; this one: {}", s.cfg.name,
                 *n, why);
}

void jwks_refresher::load_file(source& s) {
  std::ifstream in(s.cfg.jwks_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  auto keys = in ? jose::key_set::parse(text.str(), error) : nullptr;
  if (!in) error = "cannot read " + s.cfg.jwks_file;
  if (keys) store(s, std::move(keys));
  else failed(s, s.cfg.jwks_file + ": " + error);
}

bool jwks_refresher::start(std::string& error) {
  auto tls = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  tls->set_default_verify_paths();
  tls->set_verify_mode(net::ssl::verify_peer);
  for (auto& s : sources_) {
    if (!s->cfg.jwks_file.empty()) {
      s->fetching = false;
      load_file(*s);
      std::lock_guard lock(s->mutex);
      if (!s->keys) {
        error = "jwt_sources " + s->cfg.name + ": " + s->cfg.jwks_file + " holds no usable RS256 key";
        return false;
      }
      continue;
    }
    if (!s->url) {
      error = "jwt_sources " + s->cfg.name + ": jwks_url is not an https URL";
      return false;
    }
    net::co_spawn(ioc_, [this, p = s.get(), tls]() -> net::awaitable<void> {
      for (;;) {
        p->fetching = true;
        std::string why;
        const auto body = co_await fetch_https(*p->url, *tls, options_.fetch_timeout, options_.max_bytes, why);
        auto keys = why.empty() ? jose::key_set::parse(body, why) : nullptr;
        if (keys) store(*p, std::move(keys));
        else failed(*p, p->cfg.jwks_url + ": " + why);
        p->fetching = false;
        for (auto& w : std::exchange(p->waiters, {})) w();
        p->timer->expires_after(std::chrono::minutes(p->cfg.refresh_minutes));
        if (!p->wake) co_await p->timer->async_wait(nothrow);  // cancelled by refetch()
        p->wake = false;
      }
    }, net::detached);
  }
  thread_ = std::thread([this] { ioc_.run(); });
  metrics::name_thread(thread_, "jwks-refresh");
  return true;
}

std::optional<jwks_refresher::match> jwks_refresher::find(std::string_view kid) const {
  for (const auto& s : sources_) {
    std::lock_guard lock(s->mutex);
    if (s->keys && s->keys->has(kid)) return match{s->cfg.name, &s->cfg.allowed_accounts, s->keys};
  }
  return std::nullopt;
}

void jwks_refresher::refetch(std::function<void()> done) {
  net::post(ioc_, [this, done = std::move(done)] {
    auto left = std::make_shared<std::size_t>(1);  // 1 for this loop: done() runs once, at the end
    const auto one = [left, done] {
      if (--*left == 0) done();
    };
    const auto now = std::chrono::steady_clock::now();
    for (auto& s : sources_) {
      if (!s->url) continue;
      if (s->fetching) {
        ++*left;
        s->waiters.push_back(one);
      } else if (!s->last_refetch || now - *s->last_refetch >= options_.min_refetch) {
        s->last_refetch = now;
        ++*left;
        s->waiters.push_back(one);
        s->wake = true;
        s->timer->cancel();
      }
    }
    one();
  });
}

void jwks_refresher::reload_files() {
  net::post(ioc_, [this] {
    for (auto& s : sources_)
      if (!s->cfg.jwks_file.empty()) load_file(*s);
  });
}

}  // namespace caliper_sessiond::http
