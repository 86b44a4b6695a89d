#include "pg_connection.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <charconv>

namespace caliper_sessiond::store::pg {
namespace {

std::string_view trim_newline(const char* s) noexcept {
  std::string_view v = s != nullptr ? s : "";
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  return v;
}

void log_notice(void* /*arg*/, const char* message) {
  spdlog::debug("postgresql: {}", trim_newline(message));
}

}  // namespace

ExecStatusType result::status() const noexcept {
  return r_ ? PQresultStatus(r_.get()) : PGRES_FATAL_ERROR;
}

std::string_view result::sqlstate() const noexcept {
  if (!r_) return {};
  const char* s = PQresultErrorField(r_.get(), PG_DIAG_SQLSTATE);
  return s != nullptr ? s : "";
}

std::string_view result::message() const noexcept {
  if (!r_) return {};
  // The primary message alone: one line, without "ERROR:" and the CONTEXT lines.
  if (const char* primary = PQresultErrorField(r_.get(), PG_DIAG_MESSAGE_PRIMARY)) return primary;
  return trim_newline(PQresultErrorMessage(r_.get()));
}

int result::rows() const noexcept { return r_ ? PQntuples(r_.get()) : 0; }

std::size_t result::affected_rows() const noexcept {
  if (!r_) return 0;
  const std::string_view s = PQcmdTuples(r_.get());
  std::size_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

std::string_view result::value(int row, int col) const noexcept {
  return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

bool result::is_null(int row, int col) const noexcept { return PQgetisnull(r_.get(), row, col) != 0; }

connection connection::connect(const std::string& url) {
  // Our defaults come first: expand_dbname lets the URL's own settings override them.
  const std::array<const char*, 7> keys{"application_name", "connect_timeout", "keepalives_idle",
                                        "keepalives_interval", "keepalives_count", "dbname",
                                        nullptr};
  const std::array<const char*, 7> values{"caliper-sessiond", "10", "30", "10", "3", url.c_str(),
                                          nullptr};
  static std::atomic<std::uint64_t> connects{0};
  connection c;
  c.serial_ = ++connects;
  c.c_.reset(PQconnectdbParams(keys.data(), values.data(), 1));
  if (c.c_) PQsetNoticeProcessor(c.c_.get(), log_notice, nullptr);
  return c;
}

bool connection::ok() const noexcept { return c_ && PQstatus(c_.get()) == CONNECTION_OK; }

std::string_view connection::error_message() const noexcept {
  return c_ ? trim_newline(PQerrorMessage(c_.get())) : "out of memory";
}

result connection::exec(const char* sql) const noexcept { return result(PQexec(c_.get(), sql)); }

result connection::prepare(const char* name, const char* sql, int params) const noexcept {
  return result(PQprepare(c_.get(), name, sql, params, nullptr));
}

result connection::exec_prepared(const char* name, std::span<const char* const> values,
                                 std::span<const int> lengths, std::span<const int> formats,
                                 bool binary_results) const noexcept {
  return result(PQexecPrepared(c_.get(), name, static_cast<int>(values.size()), values.data(),
                               lengths.empty() ? nullptr : lengths.data(),
                               formats.empty() ? nullptr : formats.data(), binary_results ? 1 : 0));
}

result connection::exec_params(const char* sql, std::span<const char* const> values,
                               std::span<const int> lengths, std::span<const int> formats,
                               bool binary_results) const noexcept {
  return result(PQexecParams(c_.get(), sql, static_cast<int>(values.size()), nullptr,
                             values.data(), lengths.empty() ? nullptr : lengths.data(),
                             formats.empty() ? nullptr : formats.data(), binary_results ? 1 : 0));
}

bool connection::put_copy_data(std::string_view data) const noexcept {
  return PQputCopyData(c_.get(), data.data(), static_cast<int>(data.size())) == 1;
}

bool connection::put_copy_end() const noexcept { return PQputCopyEnd(c_.get(), nullptr) == 1; }

result connection::get_result() const noexcept { return result(PQgetResult(c_.get())); }

bool connection::still_alive() const noexcept {
  if (!ok()) return false;
  PQconsumeInput(c_.get());  // never blocks: libpq keeps its socket nonblocking
  return PQstatus(c_.get()) == CONNECTION_OK;
}

std::optional<error> connection::check(const result& r, ExecStatusType want) const {
  if (r && r.status() == want) return std::nullopt;
  error e;
  e.sqlstate = std::string(r.sqlstate());
  e.message = std::string(r ? r.message() : error_message());
  if (e.message.empty()) e.message = std::string(error_message());
  e.action = classify(e.sqlstate, ok());
  return e;
}

std::string redact_conninfo(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts == nullptr) {
    PQfreemem(err);
    return "<unparsable connection string>";
  }
  std::string out;
  for (const PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    const std::string_view key = o->keyword;
    if (key != "host" && key != "hostaddr" && key != "port" && key != "dbname" && key != "user")
      continue;  // only what identifies the server: never password, never sslpassword
    if (!out.empty()) out += ' ';
    out.append(key).append("=").append(o->val);
  }
  PQconninfoFree(opts);
  return out.empty() ? "<defaults>" : out;
}

}  // namespace caliper_sessiond::store::pg
