#pragma once
/// Splits an archive's JSON text into records without parsing them, in constant memory:
/// the elements of one top-level array, the lines of JSON Lines, or whitespace-separated
/// top-level values (one pretty-printed envelope, or several concatenated).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace caliper_sessiond::app {

/// How the text is laid out, decided from its beginning.
enum class record_layout : std::uint8_t {
  unknown,  ///< nothing but whitespace seen yet
  array,    ///< starts with `[`: each element is a record
  lines,    ///< starts with `{` and the first value ends on its line: each non-blank line is a record
  values,   ///< starts with `{` and the first value spans lines: each top-level value is a record
};

/// A push splitter: feed() bytes whenever next() asks for more, finish() at the end of input.
/// It tracks strings, escapes and bracket depth only; whether a record is valid JSON is the
/// parser's business. Memory is bounded by the record limit plus one fed chunk.
class record_splitter {
public:
  /// Records longer than `max_record_bytes` are dropped (next() says `oversized`).
  explicit record_splitter(std::size_t max_record_bytes);

  enum class result : std::uint8_t {
    need_more,  ///< feed() more input, or finish()
    record,     ///< `out` holds the next record
    oversized,  ///< a record over the limit was dropped
    end,        ///< the input ended cleanly
    error,      ///< the input cannot be split (truncated, or not JSON): see error()
  };

  /// Appends input. Call only after next() returned need_more.
  void feed(std::string_view bytes);
  /// No more input will come.
  void finish();
  /// The next record (or what stops it).
  result next(std::string& out);

  record_layout layout() const noexcept { return layout_; }
  /// Bytes held now (bounded by the record limit plus one fed chunk).
  std::size_t buffered() const noexcept { return buf_.size(); }
  /// Why next() returned error, with the byte offset.
  const std::string& error() const noexcept { return error_; }

private:
  enum class state : std::uint8_t { start, before_element, after_element, after_array, between_values, in_record, done };
  enum class kind : std::uint8_t { container, string, scalar, line };

  result fail(std::string message);
  result start_record(kind k);
  result scan_record(std::string& out);
  result emit(std::string& out, std::size_t end, std::size_t resume);
  bool skip_space();
  std::uint64_t offset(std::size_t pos) const noexcept { return dropped_ + pos; }

  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;        ///< next byte to look at outside a record
  std::size_t rec_start_ = 0;  ///< first byte of the current record
  std::size_t scan_ = 0;       ///< next byte to scan inside the current record
  std::uint64_t dropped_ = 0;  ///< bytes erased from the front of buf_ so far
  bool finished_ = false;
  bool oversized_ = false;     ///< the current record is being dropped
  bool after_comma_ = false;   ///< in an array, a ',' was just read
  bool detecting_ = false;     ///< the first `{` value: lines or values?
  bool saw_newline_ = false;
  bool in_string_ = false;
  bool escape_ = false;
  std::size_t depth_ = 0;
  kind kind_ = kind::container;
  state state_ = state::start;
  record_layout layout_ = record_layout::unknown;
  std::string error_;
};

}  // namespace caliper_sessiond::app
