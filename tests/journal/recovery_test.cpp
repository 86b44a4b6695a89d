#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>

#include "caliper_sessiond/journal/journal.hpp"
#include "files.hpp"
#include "journal_test_support.hpp"
#include "record.hpp"

namespace j = caliper_sessiond::journal;
namespace fs = std::filesystem;
namespace store = caliper_sessiond::store;
using namespace j::testing;

namespace {

j::journal_options options_for(const temp_dir& d) {
  j::journal_options o;
  o.dir = d.path();
  o.segment_bytes = 1 << 20;
  o.max_bytes = 16 << 20;
  return o;
}

/// Journals `n` batches "b0".."b<n-1>" (2 events each) that nothing drains, then stops.
void journal_undrained(const temp_dir& d, int n) {
  fake_sink down(fake_sink::mode::refuse);
  j::journal jr(options_for(d), down);
  std::atomic<int> done{0};
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(jr.submit(make_batch(std::string("b").append(std::to_string(i))), [&](auto, const auto&) { ++done; }));
  ASSERT_TRUE(eventually([&] { return done == n; }));
  jr.stop(std::chrono::milliseconds(0));
}

/// The segment files that hold records, oldest first.
std::vector<std::string> segments_with_data(const std::string& dir) {
  std::vector<std::string> out;
  for (auto n : j::list_segments(dir)) {
    const auto p = dir + "/" + j::segment_file_name(n);
    if (fs::file_size(p) > 0) out.push_back(p);
  }
  return out;
}

/// Offsets of the records of a segment file.
std::vector<std::size_t> record_offsets(const std::string& path) {
  const auto bytes = *j::read_from(path, 0);
  std::vector<std::size_t> out;
  for (std::size_t at = 0; at < bytes.size();) {
    auto r = j::parse_record(std::string_view(bytes).substr(at));
    if (r.status != j::parse_status::ok) break;
    out.push_back(at);
    at += r.size;
  }
  return out;
}

/// The bytes of a segment holding two records, "one" and "two".
std::string two_records() {
  std::string bytes;
  j::append_record(bytes, "one");
  j::append_record(bytes, "two");
  return bytes;
}

std::vector<std::string> ids_of(std::initializer_list<int> batches) {
  std::vector<std::string> out;
  for (int b : batches)
    for (int e = 0; e < 2; ++e) out.push_back(std::string("b").append(std::to_string(b)).append("-").append(std::to_string(e)));
  return out;
}

}  // namespace

TEST(journal_recovery, uncommitted_records_are_replayed_on_start) {
  temp_dir d;
  journal_undrained(d, 3);
  fake_sink down;
  j::journal jr(options_for(d), down);
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.ids().size() == 6; }));
  EXPECT_EQ(down.ids(), ids_of({0, 1, 2}));
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(jr.stats().replay_remaining_bytes.load(), 0u);
}

TEST(journal_recovery, committed_records_are_not_replayed_after_a_clean_stop) {
  temp_dir d;
  journal_undrained(d, 2);
  {
    fake_sink down;
    j::journal jr(options_for(d), down);
    ASSERT_TRUE(eventually([&] { return jr.drained(); }));
    jr.stop(std::chrono::milliseconds(1000));
  }
  EXPECT_TRUE(segments_with_data(d.path()).empty());
  fake_sink again;
  j::journal jr(options_for(d), again);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_TRUE(again.ids().empty());
}

TEST(journal_recovery, torn_last_record_is_cut_off_and_earlier_records_kept) {
  temp_dir d;
  journal_undrained(d, 4);
  const auto files = segments_with_data(d.path());
  ASSERT_EQ(files.size(), 1u);
  const auto offsets = record_offsets(files.back());
  ASSERT_EQ(offsets.size(), 4u);
  const auto size = fs::file_size(files.back());
  const auto cut = offsets.back() + (size - offsets.back()) / 2;
  fs::resize_file(files.back(), cut);

  fake_sink down;
  j::journal jr(options_for(d), down);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.ids(), ids_of({0, 1, 2}));
  EXPECT_EQ(jr.stats().corrupt_records.load(), 0u);
  EXPECT_FALSE(fs::exists(d.path() + "/corrupt"));
}

TEST(journal_recovery, recover_tail_truncates_a_torn_header) {
  temp_dir d;
  const auto path = d.path() + "/" + j::segment_file_name(1);
  std::string bytes = two_records();
  const auto good = bytes.size();
  bytes += std::string("CJR1\x05", 5);  // a header cut short
  std::ofstream(path, std::ios::binary) << bytes;
  std::string error;
  auto r = j::recover_tail(path, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->records, 2u);
  EXPECT_EQ(r->size, good);
  EXPECT_EQ(r->truncated_bytes, 5u);
  std::string last;
  j::append_record(last, "two");
  EXPECT_EQ(r->last_record_bytes, last.size()) << "the size of a request like the last one, for readiness";
  EXPECT_EQ(fs::file_size(path), good);
}

TEST(journal_recovery, recover_tail_cuts_the_room_prepared_ahead_apart_from_a_torn_write) {
  temp_dir d;
  const auto path = d.path() + "/" + j::segment_file_name(1);
  const std::string bytes = two_records();
  const auto good = bytes.size();
  std::ofstream(path, std::ios::binary) << bytes << std::string(1000, '\0');
  std::string error;
  auto r = j::recover_tail(path, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->records, 2u);
  EXPECT_EQ(r->truncated_bytes, 0u) << "zeros after the records are not a torn write";
  EXPECT_EQ(r->zero_tail_bytes, 1000u);
  EXPECT_EQ(fs::file_size(path), good);

  // A record torn in blocks that had been prepared with zeros: the torn bytes count as torn.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes << std::string("CJR1\x05\x01", 6)
                                                         << std::string(500, '\0');
  r = j::recover_tail(path, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->records, 2u);
  EXPECT_EQ(r->truncated_bytes, 6u);
  EXPECT_EQ(r->zero_tail_bytes, 500u);
  EXPECT_EQ(fs::file_size(path), good);
}

TEST(journal_recovery, a_running_journal_writes_ahead_into_zeros_and_a_clean_stop_cuts_them) {
  temp_dir d;
  fake_sink down(fake_sink::mode::refuse);
  j::journal jr(options_for(d), down);  // 1 MiB segments: 128 KiB prepared at a time
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(jr.submit(make_batch(std::string("b").append(std::to_string(i))), [&](auto, const auto&) { ++done; }));
  ASSERT_TRUE(eventually([&] { return done == 3; }));
  const auto files = segments_with_data(d.path());
  ASSERT_EQ(files.size(), 1u);
  const auto offsets = record_offsets(files.back());
  ASSERT_EQ(offsets.size(), 3u);
  const auto bytes = *j::read_from(files.back(), 0);
  const auto end = offsets.back() + j::parse_record(std::string_view(bytes).substr(offsets.back())).size;
  // 128 KiB from the end of the group that prepared it: the first, or the first two records
  // when the second arrived before the first's fsync began.
  EXPECT_GE(bytes.size(), offsets[1] + 128 * 1024) << "no room prepared after the records";
  EXPECT_GT(bytes.size(), end + 64 * 1024) << "no room prepared after the records";
  EXPECT_EQ(bytes.find_first_not_of('\0', end), std::string::npos);
  jr.stop(std::chrono::milliseconds(0));
  EXPECT_EQ(fs::file_size(files.back()), end) << "a clean stop leaves the records alone";
}

TEST(journal_recovery, room_that_cannot_be_prepared_never_costs_a_record) {
  // Files may not grow past 8 KiB: the zeros written ahead (128 KiB at a time here) fail part
  // way, as on a full disk, while the records themselves still fit. Each is acknowledged, so
  // each must come back after a restart.
  temp_dir d;
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  {
    fake_sink down(fake_sink::mode::refuse);
    j::journal jr(options_for(d), down);
    rlimit tiny = old;
    tiny.rlim_cur = 8 * 1024;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
    int committed = 0;
    for (int i = 0; i < 3; ++i) {
      std::atomic<int> outcome{-1};
      ASSERT_TRUE(jr.submit(make_batch(std::string("b").append(std::to_string(i))),
                            [&](store::outcome o, const auto&) { outcome = o == store::outcome::committed ? 1 : 0; }));
      ASSERT_TRUE(eventually([&] { return outcome != -1; }));
      committed += outcome;
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    ASSERT_EQ(committed, 3);
    jr.stop(std::chrono::milliseconds(0));
  }
  fake_sink down;
  j::journal jr(options_for(d), down);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.ids(), ids_of({0, 1, 2}));
  EXPECT_EQ(jr.stats().corrupt_records.load(), 0u);
}

TEST(journal_recovery, a_segment_is_cut_to_its_records_before_the_next_one_starts) {
  temp_dir d;
  fake_sink down(fake_sink::mode::refuse);
  auto o = options_for(d);
  o.segment_bytes = 16 * 1024;
  j::journal jr(o, down);
  std::atomic<int> done{0};
  // One at a time, so that each is a group of its own: a group is never split, and one group
  // of them all (a slow machine) would fill a single segment.
  constexpr int n = 100;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(jr.submit(make_batch(std::string("b").append(std::to_string(i))), [&](auto, const auto&) { ++done; }));
    ASSERT_TRUE(eventually([&] { return done == i + 1; }));
  }
  const auto files = segments_with_data(d.path());
  ASSERT_GE(files.size(), 3u);
  // Only the segment being written may end in zeros (a crash leaves them to recover_tail).
  for (std::size_t i = 0; i + 1 < files.size(); ++i) {
    const auto offsets = record_offsets(files[i]);
    ASSERT_FALSE(offsets.empty());
    const auto bytes = *j::read_from(files[i], 0);
    const auto end = offsets.back() + j::parse_record(std::string_view(bytes).substr(offsets.back())).size;
    EXPECT_EQ(bytes.size(), end) << files[i];
  }
}

TEST(journal_recovery, corrupt_record_in_the_middle_is_skipped_reported_and_set_aside) {
  temp_dir d;
  journal_undrained(d, 3);
  const auto files = segments_with_data(d.path());
  ASSERT_EQ(files.size(), 1u);
  const auto offsets = record_offsets(files.back());
  ASSERT_EQ(offsets.size(), 3u);
  {
    std::fstream f(files.back(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offsets[1] + 20));
    f.put('\x7f');
  }
  fake_sink down;
  j::journal jr(options_for(d), down);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.ids(), ids_of({0, 2}));
  EXPECT_EQ(jr.stats().corrupt_records.load(), 1u);
  ASSERT_TRUE(eventually([&] { return fs::exists(d.path() + "/corrupt/" + fs::path(files.back()).filename().string()); }));
  EXPECT_FALSE(fs::exists(files.back()));
  // and it keeps serving
  std::atomic<bool> ok{false};
  ASSERT_TRUE(jr.submit(make_batch("new"), [&](auto o, const auto&) { ok = o == caliper_sessiond::store::outcome::committed; }));
  ASSERT_TRUE(eventually([&] { return ok.load(); }));
}

TEST(journal_recovery, garbage_checkpoint_means_replay_from_the_oldest_segment) {
  temp_dir d;
  journal_undrained(d, 2);
  std::ofstream(d.path() + "/checkpoint", std::ios::binary) << "garbage that is not a checkpoint";
  fake_sink down;
  j::journal jr(options_for(d), down);
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.ids().size() == 4; }));
  EXPECT_EQ(down.ids(), ids_of({0, 1}));
}

TEST(journal_recovery, records_after_a_stale_checkpoint_are_replayed) {
  temp_dir d;
  journal_undrained(d, 3);
  {
    fake_sink down;
    j::journal jr(options_for(d), down);
    ASSERT_TRUE(eventually([&] { return jr.drained(); }));
    jr.stop(std::chrono::milliseconds(1000));
  }
  const auto stale = j::read_checkpoint(d.path());
  ASSERT_TRUE(stale);
  journal_undrained(d, 1);  // "b0" again, in a new segment
  ASSERT_EQ(j::write_checkpoint(d.path(), *stale), 0);  // as if the newer checkpoint never reached the disk
  fake_sink down;
  j::journal jr(options_for(d), down);
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.ids().size() == 2; }));
  EXPECT_EQ(down.ids(), ids_of({0}));
}
