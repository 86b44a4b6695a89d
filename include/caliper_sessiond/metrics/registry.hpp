#pragma once
/// Prometheus counters and gauges, rendered in the text exposition format.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace caliper_sessiond::metrics {

/// A monotonically increasing count. Lock-free to increment.
class counter {
public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> value_{0};
};

/// Counters of one metric name, one per label set ("route=\"/caliper\",status=\"200\"").
class counter_family {
public:
  counter_family(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}
  /// The counter for these labels, created on first use. `labels` is the inside of {…}.
  counter& with(const std::string& labels);
  void render(std::string& out) const;

private:
  std::string name_, help_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<counter>> children_;
};

/// A histogram with fixed upper bounds; lock-free to observe.
class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  /// Appends the _bucket/_sum/_count lines for `name`.
  void render(const std::string& name, std::string& out) const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  ///< one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

/// Every metric of the process.
class registry {
public:
  counter_family& counters(const std::string& name, const std::string& help);
  /// A gauge whose value is read when scraped; `labels` is the inside of {…} or "".
  void gauge(const std::string& name, const std::string& help, std::function<double()> read,
             const std::string& labels = "");
  /// A histogram, created on first use with these bucket bounds.
  histogram& histogram_of(const std::string& name, const std::string& help, std::vector<double> bounds);
  /// A counter whose value is read when scraped (for counts kept elsewhere, e.g. the writer's).
  void counter_fn(const std::string& name, const std::string& help, const std::string& labels,
                  std::function<double()> read);
  std::string render() const;

private:
  struct sampled {
    std::string name, help, type, labels;
    std::function<double()> read;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<counter_family>> families_;
  struct named_histogram {
    std::string help;
    std::unique_ptr<histogram> h;
  };
  std::map<std::string, named_histogram> histograms_;
  std::vector<sampled> sampled_;
};

/// Escapes a label value for the exposition format.
std::string escape_label(const std::string& v);

}  // namespace caliper_sessiond::metrics
