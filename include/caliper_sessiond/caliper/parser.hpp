#pragma once
/// Parses a Caliper envelope into SessionEvent rows. Pure: no I/O, no exceptions.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/session_event.hpp"

namespace caliper_sessiond::caliper {

/// One per thread: it keeps simdjson's parser and buffers warm between documents.
class envelope_parser {
public:
  explicit envelope_parser(parse_limits limits = {});
  ~envelope_parser();
  envelope_parser(const envelope_parser&) = delete;
  envelope_parser& operator=(const envelope_parser&) = delete;
  envelope_parser(envelope_parser&&) noexcept;
  envelope_parser& operator=(envelope_parser&&) noexcept;

  /// Spare capacity simdjson reads past the end of a body. Reserve `size + padding` when
  /// reading the body and parse() will not need to reallocate (and copy) it.
  static constexpr std::size_t padding = 64;

  /// Parses `body` sent with the API key named `source` (part of derived event ids).
  /// May grow `body`'s capacity (simdjson needs padding) but keeps its contents.
  /// Never throws for any input (only std::bad_alloc); every string returned follows the
  /// text rule of text.hpp.
  parse_result parse(std::string& body, std::string_view source);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace caliper_sessiond::caliper
