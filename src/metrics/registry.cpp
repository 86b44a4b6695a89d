#include "caliper_sessiond/metrics/registry.hpp"

#include <cmath>
#include <cstdio>

namespace caliper_sessiond::metrics {
namespace {

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

/// `name{labels} value\n`, appended piece by piece: `"{" + labels` style temporaries trip
/// GCC 12's false -Wrestrict at -O3 (PR 105651).
void append_sample(std::string& out, const std::string& name, const std::string& labels,
                   const std::string& value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

counter& counter_family::with(const std::string& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = children_[labels];
  if (!slot) slot = std::make_unique<counter>();
  return *slot;
}

void counter_family::render(std::string& out) const {
  header(out, name_, help_, "counter");
  std::lock_guard lock(mutex_);
  for (const auto& [labels, c] : children_) {
    append_sample(out, name_, labels, std::to_string(c->value()));
  }
}

counter_family& registry::counters(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  auto& slot = families_[name];
  if (!slot) slot = std::make_unique<counter_family>(name, help);
  return *slot;
}

void registry::gauge(const std::string& name, const std::string& help, std::function<double()> read,
                     const std::string& labels) {
  std::lock_guard lock(mutex_);
  sampled_.push_back({name, help, "gauge", labels, std::move(read)});
}

histogram& registry::histogram_of(const std::string& name, const std::string& help, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  auto& slot = histograms_[name];
  if (!slot.h) slot = {help, std::make_unique<histogram>(std::move(bounds))};
  return *slot.h;
}

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void histogram::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double old = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

void histogram::render(const std::string& name, std::string& out) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds_.size() ? format_value(bounds_[i]) : "+Inf";
    out += name + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + format_value(sum_.load(std::memory_order_relaxed)) + "\n";
  out += name + "_count " + std::to_string(count_.load(std::memory_order_relaxed)) + "\n";
}

void registry::counter_fn(const std::string& name, const std::string& help, const std::string& labels,
                          std::function<double()> read) {
  std::lock_guard lock(mutex_);
  sampled_.push_back({name, help, "counter", labels, std::move(read)});
}

std::string registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) family->render(out);
  for (const auto& [name, named] : histograms_) {
    header(out, name, named.help, "histogram");
    named.h->render(name, out);
  }
  std::string last;
  for (const auto& s : sampled_) {
    if (s.name != last) header(out, s.name, s.help, s.type.c_str());
    last = s.name;
    append_sample(out, s.name, s.labels, format_value(s.read()));
  }
  return out;
}

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace caliper_sessiond::metrics
