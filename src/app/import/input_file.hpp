#pragma once
/// One input of `import`: a file or stdin, gzip-compressed or not (zlib tells by the magic
/// bytes, whatever the name), read in chunks.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace caliper_sessiond::app {

class input_file {
public:
  /// Opens `path` ("-" for stdin). Check ok() and error().
  explicit input_file(const std::string& path);
  ~input_file();
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;

  bool ok() const noexcept { return error_.empty(); }
  const std::string& error() const noexcept { return error_; }

  /// Reads up to `max` decompressed bytes into `out` (replacing its contents). False at the
  /// end of input or on an error (then error() is set).
  bool read(std::string& out, std::size_t max);

  /// Bytes of the file itself consumed so far (compressed bytes for gzip).
  std::uint64_t position() const noexcept;
  /// The file's size, or 0 when unknown (a pipe, stdin).
  std::uint64_t size() const noexcept { return size_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string error_;
  std::uint64_t size_ = 0;
};

}  // namespace caliper_sessiond::app
