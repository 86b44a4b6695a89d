// The framing checks of a request head (RFC 9112) that Beast's parser leaves to us.
#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

#include <initializer_list>
#include <utility>

#include "request_checks.hpp"

namespace http = caliper_sessiond::http;
namespace bhttp = boost::beast::http;

namespace {

using head = bhttp::header<true, bhttp::fields>;

head make(unsigned version, std::initializer_list<std::pair<bhttp::field, const char*>> fields) {
  head h;
  h.method(bhttp::verb::post);
  h.target("/caliper");
  h.version(version);
  for (const auto& [name, value] : fields) h.insert(name, value);
  return h;
}

int status_of(const head& h) {
  const auto problem = http::check_request_head(h);
  return problem ? problem->status : 0;
}

constexpr auto host = bhttp::field::host;
constexpr auto te = bhttp::field::transfer_encoding;
constexpr auto cl = bhttp::field::content_length;

}  // namespace

TEST(request_head, plain_http11_request_passes) {
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {cl, "12"}})), 0);
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {te, "chunked"}})), 0);
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {te, " Chunked "}})), 0);
  EXPECT_EQ(status_of(make(10, {{cl, "0"}})), 0);  // HTTP/1.0 needs no Host
}

TEST(request_head, transfer_encoding_not_ending_in_chunked_is_400) {
  for (const char* coding : {"xchunked", "identity", "gzip", "chunked, gzip", "chunked, chunked", "chunked;x=1 y", ","})
    EXPECT_EQ(status_of(make(11, {{host, "h"}, {te, coding}})), 400) << coding;
}

TEST(request_head, transfer_encoding_over_two_lines_is_read_as_one_list) {
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {te, "chunked"}, {te, "gzip"}})), 400);
}

TEST(request_head, unsupported_coding_before_chunked_is_501) {
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {te, "gzip, chunked"}})), 501);
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {te, "gzip"}, {te, "chunked"}})), 501);
}

TEST(request_head, transfer_encoding_in_http10_is_400) {
  EXPECT_EQ(status_of(make(10, {{host, "h"}, {te, "chunked"}})), 400);
}

TEST(request_head, content_length_with_transfer_encoding_is_400) {
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {cl, "5"}, {te, "chunked"}})), 400);
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {te, "gzip"}, {cl, "5"}})), 400);
}

TEST(request_head, host_missing_in_http11_or_repeated_is_400) {
  EXPECT_EQ(status_of(make(11, {{cl, "0"}})), 400);
  EXPECT_EQ(status_of(make(11, {{host, "a"}, {host, "b"}})), 400);
  EXPECT_EQ(status_of(make(11, {{host, "a"}, {host, "a"}})), 400);
  EXPECT_EQ(status_of(make(10, {{host, "a"}, {host, "b"}})), 400);
}

TEST(request_head, content_length_list_or_repeated_is_400) {
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {cl, "5, 5"}})), 400);
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {cl, "5"}, {cl, "5"}})), 400);
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {cl, "5"}, {cl, "6"}})), 400);
  EXPECT_EQ(status_of(make(11, {{host, "h"}, {cl, "+5"}})), 400);
}

TEST(request_head, other_versions_are_505) {
  EXPECT_EQ(status_of(make(20, {{host, "h"}})), 505);
  EXPECT_EQ(status_of(make(9, {{host, "h"}})), 505);
}

TEST(head_error, header_limit_is_431_and_malformed_heads_400) {
  EXPECT_EQ(http::head_error_status(bhttp::error::header_limit, false, "GET / HTTP/1.1\r\nX: aaaa"), 431);
  EXPECT_EQ(http::head_error_status(bhttp::error::bad_field, false, "GET / HTTP/1.1\r\nX y\r\n\r\n"), 400);
  EXPECT_EQ(http::head_error_status(bhttp::error::bad_transfer_encoding, false, "x"), 400);
  EXPECT_EQ(http::head_error_status(bhttp::error::multiple_content_length, false, "x"), 400);
  EXPECT_EQ(http::head_error_status(bhttp::error::bad_version, false, "GET / HTTP/1.x\r\n\r\n"), 400);
}

TEST(head_error, well_formed_other_version_is_505) {
  EXPECT_EQ(http::head_error_status(bhttp::error::bad_version, false, "GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(http::head_error_status(bhttp::error::bad_version, false, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
  EXPECT_EQ(http::head_error_status(bhttp::error::bad_version, false, "GET / HTTP/10.0\r\n\r\n"), 400);
  EXPECT_EQ(http::head_error_status(bhttp::error::bad_version, false, "GET /a b HTTP/2.0\r\n\r\n"), 400);
  EXPECT_EQ(http::head_error_status(bhttp::error::bad_version, false, "GET / HTTP/1.1\n\n"), 400);
}

TEST(head_error, timeout_is_408_only_with_part_of_a_request) {
  EXPECT_EQ(http::head_error_status(boost::asio::error::operation_aborted, true, "GET / HT"), 408);
  EXPECT_EQ(http::head_error_status(boost::asio::error::operation_aborted, true, ""), 0);
}

TEST(head_error, peer_gone_or_cancelled_gets_no_answer) {
  EXPECT_EQ(http::head_error_status(bhttp::error::end_of_stream, false, ""), 0);
  EXPECT_EQ(http::head_error_status(bhttp::error::partial_message, false, "GET /"), 0);
  EXPECT_EQ(http::head_error_status(boost::asio::error::connection_reset, false, ""), 0);
  EXPECT_EQ(http::head_error_status(boost::asio::error::operation_aborted, false, "GET /"), 0);
}
