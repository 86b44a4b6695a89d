#pragma once
/// A plain TCP client for end-to-end tests that need exact bytes on the wire (malformed heads,
/// stalls, half-sent bodies), with a deadline on every wait.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace caliper_sessiond::testing {

/// One HTTP response as read off the socket.
struct raw_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

class raw_client {
public:
  /// Connects to 127.0.0.1:port; connected() says whether it worked.
  explicit raw_client(int port, int send_buffer_bytes = 0);
  ~raw_client();
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  bool connected() const { return fd_ >= 0; }
  /// Sends all of `bytes`; false when the connection fails (reset, closed) or stalls for `timeout`.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Closes our sending side (the server reads end of stream after what was sent).
  void finish_sending();
  /// Reads one response within `timeout`; nullopt when the connection ends or time runs out first.
  std::optional<raw_reply> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits until the server closes (end of stream or reset) within `timeout`. What arrived
  /// meanwhile is appended to `*extra` when given.
  bool wait_closed(std::chrono::milliseconds timeout, std::string* extra = nullptr);

private:
  /// Receives what is there within `timeout`: >0 bytes appended to pending_, 0 at end of
  /// stream, -1 on error or reset, -2 on timeout.
  long receive(std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string pending_;  ///< received and not yet returned
};

}  // namespace caliper_sessiond::testing
