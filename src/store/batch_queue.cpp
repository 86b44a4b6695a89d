#include "batch_queue.hpp"

namespace caliper_sessiond::store {

bool batch_queue::try_push(queued_item&& item) {
  const std::size_t n = item.rows();
  if (!items_.empty() && rows_ + n > max_rows_) return false;
  rows_ += n;
  items_.push_back(std::move(item));
  return true;
}

std::optional<clock::time_point> batch_queue::due_at() const noexcept {
  if (items_.empty()) return std::nullopt;
  if (rows_ >= flush_rows_) return items_.front().enqueued;
  return items_.front().enqueued + flush_delay_;
}

std::optional<clock::time_point> batch_queue::oldest() const noexcept {
  if (items_.empty()) return std::nullopt;
  return items_.front().enqueued;
}

std::vector<queued_item> batch_queue::take_batch() {
  std::vector<queued_item> out;
  std::size_t taken = 0;
  while (!items_.empty() && (out.empty() || taken + items_.front().rows() <= flush_rows_)) {
    taken += items_.front().rows();
    out.push_back(std::move(items_.front()));
    items_.pop_front();
  }
  rows_ -= taken;
  return out;
}

std::vector<queued_item> batch_queue::take_older_than(clock::time_point cutoff) {
  std::vector<queued_item> out;
  while (!items_.empty() && items_.front().enqueued < cutoff) {
    rows_ -= items_.front().rows();
    out.push_back(std::move(items_.front()));
    items_.pop_front();
  }
  return out;
}

std::vector<queued_item> batch_queue::take_all() {
  std::vector<queued_item> out(std::make_move_iterator(items_.begin()),
                               std::make_move_iterator(items_.end()));
  items_.clear();
  rows_ = 0;
  return out;
}

}  // namespace caliper_sessiond::store
