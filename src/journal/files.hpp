#pragma once
/// POSIX file work for the journal: segment names, whole writes and reads, directory fsync,
/// the checkpoint file and the tail recovery of the last segment.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace caliper_sessiond::journal {

/// Where the drainer is: a byte offset (a record boundary) in a numbered segment.
struct position {
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
  friend auto operator<=>(const position&, const position&) = default;
};

/// "seg-00000000000000000042.journal" for segment 42.
std::string segment_file_name(std::uint64_t number);
/// The segment numbers found in `dir`, ascending.
std::vector<std::uint64_t> list_segments(const std::string& dir);

/// 0 or an errno. Retries short writes and EINTR.
int write_all(int fd, const char* data, std::size_t n, std::uint64_t offset);
/// 0 or an errno; EIO when the file ends first.
int read_exact(int fd, char* data, std::size_t n, std::uint64_t offset);
/// The whole file from `offset` on; nullopt when it cannot be read.
std::optional<std::string> read_from(const std::string& path, std::uint64_t offset);
/// fsync of a directory, so that creating, renaming or deleting a file in it is durable.
int fsync_dir(const std::string& dir);

/// The saved drain position, or nullopt when absent or unreadable (replay from the start).
std::optional<position> read_checkpoint(const std::string& dir);
/// Replaces the checkpoint file atomically (write, fdatasync, rename). 0 or an errno.
int write_checkpoint(const std::string& dir, position p);

/// What recovering the last segment found.
struct tail_recovery {
  std::uint64_t size = 0;            ///< the file's size after recovery
  std::uint64_t records = 0;         ///< valid records kept
  std::uint64_t last_record_bytes = 0; ///< the size of the last valid record, 0 when none
  std::uint64_t truncated_bytes = 0; ///< a torn tail cut off (up to its last nonzero byte)
  std::uint64_t zero_tail_bytes = 0; ///< zeros after the records: room prepared ahead, cut off too
  std::uint64_t corrupt_regions = 0; ///< bad bytes followed by valid records (left for the drainer)
};

/// The size of the last valid record in a segment (0 when it holds none). Reads the whole file.
std::uint64_t last_record_size(const std::string& path);

/// Scans the last segment: a bad region with no valid record after it is a torn write and is
/// truncated (and fdatasync'd); every valid record before it is kept. Zeros there are the room
/// the flusher prepares ahead of its appends (see journal::impl::prepare_room), not a torn
/// write: they are cut off as well, but counted apart. nullopt (with `error`)
/// when the file cannot be read or truncated.
std::optional<tail_recovery> recover_tail(const std::string& path, std::string& error);

}  // namespace caliper_sessiond::journal
