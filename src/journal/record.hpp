#pragma once
/// The journal's on-disk record: framing, checksum and the serialized ingest_batch.
///
/// A segment file is a sequence of records, nothing else:
///   u32 magic "CJR1" | u32 payload length | u32 CRC-32C of (length field, payload) | payload
/// little-endian. The payload is one ingest_batch (encode_batch). A record is whole or it is
/// not a record: a crash mid-write leaves a torn tail that fails the length or CRC check.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "caliper_sessiond/store/ingest_batch.hpp"

namespace caliper_sessiond::journal {

inline constexpr std::uint32_t record_magic = 0x31524a43;  // "CJR1" in file order
inline constexpr std::size_t record_header_bytes = 12;
/// No request body can come near this; a larger length field is corruption.
inline constexpr std::uint32_t max_payload_bytes = 1u << 30;

/// CRC-32C continued from `crc` (0 to start); SSE4.2 when the CPU has it.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept;
/// The table-driven path alone, to test the hardware path against.
std::uint32_t crc32c_software(const void* data, std::size_t n) noexcept;

/// Appends one framed record holding `payload` to `out`.
void append_record(std::string& out, std::string_view payload);

enum class parse_status : std::uint8_t {
  ok,
  incomplete,  ///< the bytes end before the record does
  bad,         ///< wrong magic, impossible length or checksum mismatch
};

/// A record read from the front of some bytes.
struct parsed_record {
  parse_status status = parse_status::bad;
  std::string_view payload;  ///< valid when ok
  std::size_t size = 0;      ///< header + payload, valid when ok
};

/// Reads the record at the start of `bytes`.
parsed_record parse_record(std::string_view bytes) noexcept;

/// The payload length a header announces, or nullopt when the header is not plausible.
std::optional<std::uint32_t> header_length(std::string_view header) noexcept;

/// Checks a whole record (header + payload) read from disk.
bool record_valid(std::string_view header, std::string_view payload) noexcept;

/// The offset of the first valid record in `bytes` at or after `from`, or nullopt.
std::optional<std::size_t> find_next_record(std::string_view bytes, std::size_t from) noexcept;

/// Serializes a batch (format version 1).
std::string encode_batch(const store::ingest_batch& batch);

/// Decodes encode_batch's output; nullopt when the payload does not decode exactly.
std::optional<store::ingest_batch> decode_batch(std::string_view payload);

}  // namespace caliper_sessiond::journal
