#include "request_checks.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

namespace caliper_sessiond::http {
namespace {

namespace bhttp = boost::beast::http;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// The codings of every Transfer-Encoding line in order, lower-cased; nullopt when one is not
/// a bare token (we support no coding that takes parameters, and chunked takes none).
std::optional<std::vector<std::string>> transfer_codings(const bhttp::header<true, bhttp::fields>& head) {
  std::vector<std::string> out;
  auto [first, last] = head.equal_range(bhttp::field::transfer_encoding);
  for (auto it = first; it != last; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      item = trim(item);
      if (item.empty()) continue;  // empty list elements are allowed (RFC 9110 5.6.1)
      std::string coding;
      for (char c : item) {
        if (!is_tchar(c)) return std::nullopt;
        coding += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      out.push_back(std::move(coding));
    }
  }
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::optional<head_problem> check_request_head(const bhttp::header<true, bhttp::fields>& head) {
  const unsigned version = head.version();
  if (version != 10 && version != 11)
    return head_problem{505, "only HTTP/1.0 and HTTP/1.1 are supported"};

  const auto hosts = head.count(bhttp::field::host);
  if (hosts > 1) return head_problem{400, "more than one Host header"};
  if (version == 11 && hosts == 0) return head_problem{400, "an HTTP/1.1 request needs a Host header"};

  const auto lengths = head.count(bhttp::field::content_length);
  if (lengths > 1) return head_problem{400, "more than one Content-Length header"};
  if (lengths == 1 && !all_digits(trim(head[bhttp::field::content_length])))
    return head_problem{400, "Content-Length must be one decimal number"};

  if (head.count(bhttp::field::transfer_encoding) == 0) return std::nullopt;
  if (version != 11) return head_problem{400, "Transfer-Encoding is not allowed in an HTTP/1.0 request"};
  if (lengths != 0) return head_problem{400, "Content-Length and Transfer-Encoding together"};
  const auto codings = transfer_codings(head);
  if (!codings || codings->empty()) return head_problem{400, "Transfer-Encoding is not a list of codings"};
  if (codings->back() != "chunked") return head_problem{400, "the last transfer coding must be chunked"};
  for (std::size_t i = 0; i + 1 < codings->size(); ++i) {
    if ((*codings)[i] == "chunked") return head_problem{400, "chunked is applied more than once"};
    return head_problem{501, "the transfer coding " + (*codings)[i] + " is not supported"};
  }
  return std::nullopt;
}

bool has_unsupported_version(std::string_view head) {
  const auto line = head.substr(0, head.find("\r\n"));
  if (std::count(line.begin(), line.end(), ' ') != 2) return false;  // method SP target SP version
  const auto v = line.substr(line.rfind(' ') + 1);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.size() == 8 && v.starts_with("HTTP/") && digit(v[5]) && v[6] == '.' && digit(v[7]) && v != "HTTP/1.0" &&
         v != "HTTP/1.1";
}

int head_error_status(const boost::beast::error_code& ec, bool timed_out, std::string_view unread) {
  if (timed_out) return unread.empty() ? 0 : 408;
  if (ec == bhttp::error::header_limit) return 431;
  // Beast refuses versions other than 1.0 and 1.1 as malformed; RFC 9110 wants 505 for those.
  if (ec == bhttp::error::bad_version && has_unsupported_version(unread)) return 505;
  if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
    // The peer closed mid-head (partial_message) or between requests: nobody to answer.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return 0;
    return 400;  // bad_method, bad_target, bad_version, bad_field, bad_value, bad_content_length...
  }
  return 0;  // eof, reset, cancelled by shutdown, TLS errors: the connection is gone or going
}

}  // namespace caliper_sessiond::http
