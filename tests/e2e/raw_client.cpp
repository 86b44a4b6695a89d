#include "raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http.hpp>

#include <cctype>
#include <cerrno>

namespace caliper_sessiond::testing {

namespace bhttp = boost::beast::http;
using clock_type = std::chrono::steady_clock;

raw_client::raw_client(int port, int send_buffer_bytes) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  if (send_buffer_bytes > 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &send_buffer_bytes, sizeof send_buffer_bytes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

raw_client::~raw_client() {
  if (fd_ >= 0) ::close(fd_);
}

bool raw_client::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto until = clock_type::now() + timeout;
  while (!bytes.empty()) {
    pollfd p{fd_, POLLOUT, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void raw_client::finish_sending() { ::shutdown(fd_, SHUT_WR); }

long raw_client::receive(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready == 0) return -2;
  if (ready < 0) return -1;
  char buf[16 * 1024];
  const auto n = ::recv(fd_, buf, sizeof buf, 0);
  if (n < 0) return -1;
  pending_.append(buf, static_cast<std::size_t>(n));
  return n;
}

std::optional<raw_reply> raw_client::read_response(std::chrono::milliseconds timeout) {
  const auto until = clock_type::now() + timeout;
  for (;;) {
    if (!pending_.empty()) {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.eager(true);
      boost::beast::error_code ec;
      const auto used = parser.put(boost::asio::buffer(pending_), ec);
      if (!ec && parser.is_done()) {
        raw_reply reply;
        reply.status = static_cast<int>(parser.get().result_int());
        for (const auto& f : parser.get()) {
          std::string name(f.name_string());
          for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          reply.headers[name] = std::string(f.value());
        }
        reply.body = parser.get().body();
        pending_.erase(0, used);
        return reply;
      }
      if (ec && ec != bhttp::error::need_more) return std::nullopt;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
    if (left.count() <= 0 || receive(left) <= 0) return std::nullopt;
  }
}

bool raw_client::wait_closed(std::chrono::milliseconds timeout, std::string* extra) {
  const auto until = clock_type::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
    if (left.count() <= 0) return false;
    const auto n = receive(left);
    if (n == -2) return false;
    if (n <= 0) break;  // end of stream or reset
  }
  if (extra != nullptr) *extra += pending_;
  pending_.clear();
  return true;
}

}  // namespace caliper_sessiond::testing
