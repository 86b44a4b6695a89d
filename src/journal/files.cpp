#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "record.hpp"

namespace caliper_sessiond::journal {
namespace {

constexpr const char* checkpoint_name = "checkpoint";
constexpr std::uint32_t checkpoint_magic = 0x31504b43;  // "CKP1"

/// Closes a descriptor when it goes out of scope.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string segment_file_name(std::uint64_t number) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "seg-%020" PRIu64 ".journal", number);
  return buf;
}

std::vector<std::uint64_t> list_segments(const std::string& dir) {
  std::vector<std::uint64_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    std::uint64_t n = 0;
    if (name.size() == 32 && std::sscanf(name.c_str(), "seg-%20" SCNu64 ".journal", &n) == 1 &&
        name == segment_file_name(n))
      out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int write_all(int fd, const char* data, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const auto w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    data += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return 0;
}

int read_exact(int fd, char* data, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const auto r = ::pread(fd, data, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return EIO;
    data += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return 0;
}

std::optional<std::string> read_from(const std::string& path, std::uint64_t offset) {
  fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  struct stat st {};
  if (f.fd < 0 || ::fstat(f.fd, &st) != 0) return std::nullopt;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (offset >= size) return std::string{};
  std::string out(size - offset, '\0');
  if (read_exact(f.fd, out.data(), out.size(), offset) != 0) return std::nullopt;
  return out;
}

int fsync_dir(const std::string& dir) {
  fd_guard f{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (f.fd < 0) return errno;
  return ::fsync(f.fd) == 0 ? 0 : errno;
}

std::optional<position> read_checkpoint(const std::string& dir) {
  auto bytes = read_from(dir + "/" + checkpoint_name, 0);
  if (!bytes || bytes->size() != 24) return std::nullopt;
  std::uint32_t magic = 0, crc = 0;
  position p;
  std::memcpy(&magic, bytes->data(), 4);
  std::memcpy(&p.segment, bytes->data() + 4, 8);
  std::memcpy(&p.offset, bytes->data() + 12, 8);
  std::memcpy(&crc, bytes->data() + 20, 4);
  if (magic != checkpoint_magic || crc != crc32c_extend(0, bytes->data(), 20)) return std::nullopt;
  return p;
}

int write_checkpoint(const std::string& dir, position p) {
  char buf[24];
  std::memcpy(buf, &checkpoint_magic, 4);
  std::memcpy(buf + 4, &p.segment, 8);
  std::memcpy(buf + 12, &p.offset, 8);
  const auto crc = crc32c_extend(0, buf, 20);
  std::memcpy(buf + 20, &crc, 4);
  const std::string tmp = dir + "/" + checkpoint_name + ".tmp";
  {
    fd_guard f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (f.fd < 0) return errno;
    if (const int err = write_all(f.fd, buf, sizeof buf, 0)) return err;
    if (::fdatasync(f.fd) != 0) return errno;
  }
  const std::string final_path = dir + "/" + checkpoint_name;
  return ::rename(tmp.c_str(), final_path.c_str()) == 0 ? 0 : errno;
}

namespace {

/// What the valid records of a segment's bytes come to, read from the start.
struct record_walk {
  std::size_t end = 0;             ///< where the last valid record ends, or the first bad
                                   ///< region with no valid record after it starts
  std::uint64_t records = 0;
  std::uint64_t last_record_bytes = 0;
  std::uint64_t corrupt_regions = 0;  ///< bad bytes followed by valid records
};

record_walk walk_records(std::string_view all) {
  record_walk w;
  while (w.end < all.size()) {
    const auto rec = parse_record(all.substr(w.end));
    if (rec.status == parse_status::ok) {
      ++w.records;
      w.last_record_bytes = rec.size;
      w.end += rec.size;
    } else if (auto next = find_next_record(all, w.end + 1)) {
      ++w.corrupt_regions;  // not a torn write: valid records follow
      w.end = *next;
    } else {
      break;
    }
  }
  return w;
}

}  // namespace

std::uint64_t last_record_size(const std::string& path) {
  const auto bytes = read_from(path, 0);
  return bytes ? walk_records(*bytes).last_record_bytes : 0;
}

std::optional<tail_recovery> recover_tail(const std::string& path, std::string& error) {
  auto bytes = read_from(path, 0);
  if (!bytes) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  const std::string_view all(*bytes);
  const auto w = walk_records(all);
  tail_recovery r;
  r.records = w.records;
  r.last_record_bytes = w.last_record_bytes;
  r.corrupt_regions = w.corrupt_regions;
  r.size = w.end;
  if (w.end < all.size()) {
    // A bad region with no valid record after it: a torn write, and the zeros prepared ahead.
    const auto nonzero = all.find_last_not_of('\0');
    const std::size_t torn_end = nonzero == std::string_view::npos || nonzero < w.end ? w.end : nonzero + 1;
    r.truncated_bytes = torn_end - w.end;
    r.zero_tail_bytes = all.size() - torn_end;
    fd_guard f{::open(path.c_str(), O_WRONLY | O_CLOEXEC)};
    if (f.fd < 0 || ::ftruncate(f.fd, static_cast<off_t>(w.end)) != 0 || ::fdatasync(f.fd) != 0) {
      error = "cannot truncate the torn tail of " + path + ": " + std::strerror(errno);
      return std::nullopt;
    }
  }
  return r;
}

}  // namespace caliper_sessiond::journal
