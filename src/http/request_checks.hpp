#pragma once
/// Checks of a request head that Beast's parser leaves to us (RFC 9112 framing), and what to
/// answer when the head could not be read. Pure: no I/O, unit-tested.

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace caliper_sessiond::http {

/// Why a request cannot be served, answered with `status` and Connection: close.
struct head_problem {
  int status;
  std::string detail;
};

/// The framing checks of RFC 9112 on a parsed head, run before routing: HTTP/1.0 or 1.1 only
/// (505), exactly one Host in HTTP/1.1 and at most one otherwise, a single plain Content-Length,
/// Transfer-Encoding only in HTTP/1.1, never with Content-Length, and ending in `chunked`
/// (a request whose framing two parsers could read differently is how smuggling starts).
std::optional<head_problem> check_request_head(const boost::beast::http::header<true, boost::beast::http::fields>& head);

/// What to answer when reading a head failed with `ec`: 431, 400 for a malformed head, 505 for
/// a well-formed version other than 1.0 and 1.1, or 0 when the connection just ends (the peer
/// closed or reset it, or the read was cancelled). `timed_out` (the read deadline passed) with
/// part of a request received is 408; a timeout with nothing received is an idle keep-alive
/// connection ending: 0. `unread` is what was received and not parsed (the head so far).
int head_error_status(const boost::beast::error_code& ec, bool timed_out, std::string_view unread);

/// True when the request line in `head` is "<method> <target> HTTP/<digit>.<digit>" with a
/// version other than 1.0 and 1.1.
bool has_unsupported_version(std::string_view head);

}  // namespace caliper_sessiond::http
