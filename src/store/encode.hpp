#pragma once
/// Text encodings the batch statements need: array literals, binary arrays, COPY text rows
/// (timestamps: caliper::format_timestamp_us; text made storable: caliper::sanitize_text).
/// Pure functions, no libpq: unit-tested on their own.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/session_event.hpp"

namespace caliper_sessiond::store::encode {

/// Builds a one-dimensional PostgreSQL array literal in text format: {"a","b\"c",NULL}.
class array_literal {
public:
  void reserve(std::size_t bytes) { text_.reserve(bytes); }
  void add(std::string_view element);
  void add_nullable(const std::optional<std::string>& element);  ///< NULL when absent
  void add_null();
  /// The literal; the builder is empty again afterwards.
  std::string finish();

private:
  std::string text_{"{"};
  bool empty_ = true;
};

/// Type OIDs of the binary array elements we send (fixed in pg_type.dat).
constexpr std::uint32_t bool_oid = 16;
constexpr std::uint32_t int8_oid = 20;
constexpr std::uint32_t text_oid = 25;
constexpr std::uint32_t uuid_oid = 2950;
constexpr std::uint32_t timestamptz_oid = 1184;

/// Builds a one-dimensional array in PostgreSQL's binary format (what array_recv reads).
class binary_array {
public:
  explicit binary_array(std::uint32_t element_oid) : body_(header_bytes, '\0'), oid_(element_oid) {}
  /// One element's binary value: for text its UTF-8 bytes, for uuid its 16 bytes.
  void add(std::string_view bytes);
  void add_nullable(const std::optional<std::string>& element);  ///< NULL when absent
  void add_null();
  /// An 8-byte big-endian integer: int8, or timestamptz as microseconds since 2000-01-01.
  void add_int64(std::int64_t value);
  /// The array, built in place: valid until the next add or clear.
  std::string_view view();
  /// Empty again, keeping its memory: a writer that reuses its builders for every batch
  /// neither grows nor copies them again.
  void clear();
  /// The array as a string of its own; the builder is empty again afterwards.
  std::string finish();

private:
  /// Dimensions, has-null flag, element type, then length and lower bound of the one dimension.
  static constexpr std::size_t header_bytes = 20;
  std::string body_;  ///< the header's room, then the elements
  std::int32_t count_ = 0;
  bool has_null_ = false;
  std::uint32_t oid_;
};

/// Appends one field of a COPY text-format row (backslash escapes; `\N` for NULL).
void append_copy_field(std::string& out, std::string_view value);
void append_copy_nullable(std::string& out, const std::optional<std::string>& value);

/// Microseconds since the Unix epoch to PostgreSQL's binary timestamp (since 2000-01-01).
constexpr std::int64_t pg_epoch_offset_us = 946'684'800'000'000;

/// The 16 bytes of a UUID in any form PostgreSQL's uuid input accepts (hyphens, braces,
/// either case), or nullopt.
std::optional<std::array<std::uint8_t, 16>> uuid_bytes(std::string_view text);

/// A session IRI as the writer stores it (sql/011): up to and including its last '/' (a key
/// into caliper.texts; none when the IRI has no '/') and the rest. nullopt when the rest is
/// empty: such an IRI ("…/sessions/<id>/") is kept whole, or each session would add its own
/// prefix to caliper.texts.
struct iri_parts {
  std::optional<std::string_view> prefix;
  std::string_view tail;
};
std::optional<iri_parts> split_iri(std::string_view iri) noexcept;

/// A JSON object of the row's fields, for the `raw` column of a row the database refused.
std::string row_json(const caliper::session_event& e);

}  // namespace caliper_sessiond::store::encode
