#include "progress.hpp"

#include <fmt/format.h>

namespace caliper_sessiond::app {
namespace {

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}:{:02}", s / 60, s % 60);
}

double mb(std::uint64_t bytes) { return static_cast<double>(bytes) / 1e6; }

}  // namespace

progress_meter::progress_meter(std::FILE* out, bool terminal, std::chrono::milliseconds every)
    : out_(out), terminal_(terminal), every_(terminal ? std::chrono::milliseconds(200) : every) {}

void progress_meter::start_file(std::string name, std::uint64_t size) {
  name_ = std::move(name);
  size_ = size;
  started_ = last_ = std::chrono::steady_clock::now();
}

void progress_meter::update(std::uint64_t position, std::uint64_t events) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < every_) return;
  last_ = now;
  print(position, events, std::chrono::duration<double>(now - started_).count());
}

void progress_meter::print(std::uint64_t position, std::uint64_t events, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(events) / seconds : 0;
  std::string eta;
  double fraction = 0;
  if (size_ > 0 && position > 0) {
    fraction = std::min(1.0, static_cast<double>(position) / static_cast<double>(size_));
    eta = fmt::format(", ETA {}", clock_text(seconds * (1 - fraction) / fraction));
  }
  if (terminal_) {
    std::string bar;
    if (size_ > 0) {
      const auto filled = static_cast<std::size_t>(fraction * 30);
      bar = fmt::format("[{}{}] {:3.0f}% ", std::string(filled, '#'), std::string(30 - filled, '.'), fraction * 100);
    }
    fmt::print(out_, "\r\x1b[K{} {}{:.1f} MB, {} events, {:.0f} events/s{}", name_, bar, mb(position), events, rate, eta);
    drawn_ = true;
  } else if (size_ > 0) {
    fmt::print(out_, "import: {}: {:.1f} of {:.1f} MB ({:.0f}%), {} events, {:.0f} events/s{}\n", name_, mb(position),
               mb(size_), fraction * 100, events, rate, eta);
  } else {
    fmt::print(out_, "import: {}: {:.1f} MB read, {} events, {:.0f} events/s\n", name_, mb(position), events, rate);
  }
  std::fflush(out_);
}

void progress_meter::clear() {
  if (!drawn_) return;
  fmt::print(out_, "\r\x1b[K");
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace caliper_sessiond::app
