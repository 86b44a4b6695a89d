#include "input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace caliper_sessiond::app {

struct input_file::impl {
  gzFile gz = nullptr;
};

input_file::input_file(const std::string& path) : impl_(std::make_unique<impl>()) {
  const int fd = path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error_ = std::strerror(errno);
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      error_ = "is a directory";
      ::close(fd);
      return;
    }
    if (S_ISREG(st.st_mode)) size_ = static_cast<std::uint64_t>(st.st_size);
  }
  // gzread passes input without a gzip header through unchanged: one path for both.
  impl_->gz = ::gzdopen(fd, "rb");
  if (impl_->gz == nullptr) {
    error_ = "cannot open for reading";
    ::close(fd);
    return;
  }
  ::gzbuffer(impl_->gz, 256 * 1024);
}

input_file::~input_file() {
  if (impl_->gz != nullptr) ::gzclose(impl_->gz);
}

bool input_file::read(std::string& out, std::size_t max) {
  out.resize(max);
  const int n = ::gzread(impl_->gz, out.data(), static_cast<unsigned>(max));
  if (n < 0) {
    int code = 0;
    const char* message = ::gzerror(impl_->gz, &code);
    error_ = code == Z_ERRNO ? std::strerror(errno) : (message != nullptr ? message : "read error");
    out.clear();
    return false;
  }
  out.resize(static_cast<std::size_t>(n));
  if (n == 0) {
    // A gzip stream cut short reads as an end of input with an error set.
    int code = 0;
    const char* message = ::gzerror(impl_->gz, &code);
    if (code != Z_OK && code != Z_STREAM_END) error_ = message != nullptr ? message : "read error";
    return false;
  }
  return true;
}

std::uint64_t input_file::position() const noexcept {
  if (impl_->gz == nullptr) return 0;
  const auto at = ::gzoffset(impl_->gz);
  return at < 0 ? 0 : static_cast<std::uint64_t>(at);
}

}  // namespace caliper_sessiond::app
