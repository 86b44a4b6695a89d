#include "record_splitter.hpp"

#include <cstring>

namespace caliper_sessiond::app {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string describe(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  static const char* hex = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 0xf];
}

}  // namespace

record_splitter::record_splitter(std::size_t max_record_bytes) : max_(max_record_bytes) {}

void record_splitter::feed(std::string_view bytes) {
  // Everything before the current record (or all of a record being dropped) is done with.
  std::size_t keep_from = pos_;
  if (state_ == state::in_record) keep_from = oversized_ ? scan_ : rec_start_;
  if (keep_from > 0) {
    buf_.erase(0, keep_from);
    dropped_ += keep_from;
    pos_ -= std::min(pos_, keep_from);
    rec_start_ -= std::min(rec_start_, keep_from);
    scan_ -= keep_from;
  }
  buf_.append(bytes);
}

void record_splitter::finish() { finished_ = true; }

record_splitter::result record_splitter::fail(std::string message) {
  error_ = std::move(message);
  state_ = state::done;
  return result::error;
}

bool record_splitter::skip_space() {
  while (pos_ < buf_.size() && is_space(buf_[pos_])) ++pos_;
  return pos_ < buf_.size();
}

record_splitter::result record_splitter::start_record(kind k) {
  kind_ = k;
  rec_start_ = pos_;
  scan_ = (k == kind::container || k == kind::string) ? pos_ + 1 : pos_;
  depth_ = k == kind::container ? 1 : 0;
  in_string_ = k == kind::string;
  escape_ = false;
  saw_newline_ = false;
  oversized_ = false;
  state_ = state::in_record;
  return result::need_more;  // not returned to the caller: next() goes on scanning
}

record_splitter::result record_splitter::next(std::string& out) {
  for (;;) {
    switch (state_) {
      case state::start: {
        if (dropped_ + pos_ == 0 && buf_.size() < 3 && !finished_) return result::need_more;
        if (dropped_ + pos_ == 0 && buf_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // a UTF-8 byte order mark
        if (!skip_space()) return finished_ ? (state_ = state::done, result::end) : result::need_more;
        const char c = buf_[pos_];
        if (c == '[') {
          layout_ = record_layout::array;
          ++pos_;
          after_comma_ = false;
          state_ = state::before_element;
        } else if (c == '{') {
          detecting_ = true;
          start_record(kind::container);
        } else {
          return fail("at byte " + std::to_string(offset(pos_)) + ": starts with " + describe(c) +
                      ", not a JSON object, array or JSON Lines");
        }
        break;
      }
      case state::before_element: {
        if (!skip_space()) return finished_ ? fail("the top-level array is not closed") : result::need_more;
        const char c = buf_[pos_];
        if (c == ']' && !after_comma_) {
          ++pos_;
          state_ = state::after_array;
        } else if (c == '{' || c == '[') {
          start_record(kind::container);
        } else if (c == '"') {
          start_record(kind::string);
        } else if (c == ',' || c == ']' || c == '}' || c == ':') {
          return fail("at byte " + std::to_string(offset(pos_)) + ": " + describe(c) + " where an array element belongs");
        } else {
          start_record(kind::scalar);
        }
        break;
      }
      case state::after_element: {
        if (!skip_space()) return finished_ ? fail("the top-level array is not closed") : result::need_more;
        const char c = buf_[pos_++];
        if (c == ',') {
          after_comma_ = true;
          state_ = state::before_element;
        } else if (c == ']') {
          state_ = state::after_array;
        } else {
          return fail("at byte " + std::to_string(offset(pos_ - 1)) + ": " + describe(c) +
                      " after an array element (expected ',' or ']')");
        }
        break;
      }
      case state::after_array:
        if (!skip_space()) return finished_ ? (state_ = state::done, result::end) : result::need_more;
        return fail("at byte " + std::to_string(offset(pos_)) + ": content after the top-level array");
      case state::between_values: {
        if (!skip_space()) return finished_ ? (state_ = state::done, result::end) : result::need_more;
        const char c = buf_[pos_];
        if (layout_ == record_layout::lines) {
          start_record(kind::line);
        } else if (c == '{' || c == '[') {
          start_record(kind::container);
        } else {
          return fail("at byte " + std::to_string(offset(pos_)) + ": " + describe(c) + " between JSON values");
        }
        break;
      }
      case state::in_record: {
        const result r = scan_record(out);
        if (r != result::need_more || state_ == state::in_record) return r;
        break;  // the layout was just decided: go on from the record's start
      }
      case state::done:
        return error_.empty() ? result::end : result::error;
    }
  }
}

record_splitter::result record_splitter::scan_record(std::string& out) {
  const std::size_t size = buf_.size();
  if (kind_ == kind::line) {
    const void* nl = scan_ < size ? std::memchr(buf_.data() + scan_, '\n', size - scan_) : nullptr;
    if (nl != nullptr) {
      const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
      return emit(out, at, at + 1);
    }
    scan_ = size;
  } else {
    for (; scan_ < size; ++scan_) {
      const char c = buf_[scan_];
      if (c == '\n') saw_newline_ = true;
      if (kind_ == kind::scalar) {
        if (is_space(c) || c == ',' || c == ']' || c == '}') return emit(out, scan_, scan_);
      } else if (in_string_) {
        if (escape_) {
          escape_ = false;
        } else if (c == '\\') {
          escape_ = true;
        } else if (c == '"') {
          in_string_ = false;
          if (kind_ == kind::string) return emit(out, scan_ + 1, scan_ + 1);
        }
      } else if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if ((c == '}' || c == ']') && --depth_ == 0) {
        if (detecting_ && !saw_newline_ && oversized_) {
          // An oversized first value on its line: JSON Lines; drop the rest of that line too.
          detecting_ = false;
          layout_ = record_layout::lines;
          kind_ = kind::line;
          ++scan_;
          return scan_record(out);
        }
        if (detecting_ && !saw_newline_) {
          // The first value ends on its line: JSON Lines. Read it again, as a line.
          detecting_ = false;
          layout_ = record_layout::lines;
          pos_ = rec_start_;
          state_ = state::between_values;
          return result::need_more;
        }
        return emit(out, scan_ + 1, scan_ + 1);
      }
    }
  }
  if (scan_ - rec_start_ > max_) oversized_ = true;  // every byte scanned belongs to the record
  if (!finished_) return result::need_more;
  if (kind_ == kind::line || kind_ == kind::scalar) return emit(out, size, size);
  return fail("at byte " + std::to_string(offset(rec_start_)) + ": the input ends inside a record (truncated?)");
}

record_splitter::result record_splitter::emit(std::string& out, std::size_t end, std::size_t resume) {
  if (detecting_) {
    detecting_ = false;
    layout_ = record_layout::values;
  }
  std::size_t last = end;
  if (kind_ == kind::line)
    while (last > rec_start_ && is_space(buf_[last - 1])) --last;
  pos_ = resume;
  state_ = layout_ == record_layout::array ? state::after_element : state::between_values;
  const bool too_big = oversized_ || end - rec_start_ > max_;  // untrimmed, as the check while scanning
  oversized_ = false;
  if (too_big) return result::oversized;
  out.assign(buf_, rec_start_, last - rec_start_);
  return result::record;
}

}  // namespace caliper_sessiond::app
