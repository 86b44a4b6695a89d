#pragma once
/// RAII ownership of libpq handles and one thin wrapper per libpq call.
/// Private to the store module: nothing outside src/store sees libpq.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sqlstate.hpp"

namespace caliper_sessiond::store::pg {

/// Owns a PGresult; empty when libpq returned none (out of memory or the connection broke).
class result {
public:
  result() = default;
  explicit result(PGresult* r) noexcept : r_(r) {}

  PGresult* get() const noexcept { return r_.get(); }
  explicit operator bool() const noexcept { return r_ != nullptr; }

  /// PQresultStatus; PGRES_FATAL_ERROR for an empty result.
  ExecStatusType status() const noexcept;
  /// PG_DIAG_SQLSTATE, or "" when there is none.
  std::string_view sqlstate() const noexcept;
  /// The primary error message (PG_DIAG_MESSAGE_PRIMARY), else PQresultErrorMessage trimmed.
  std::string_view message() const noexcept;
  int rows() const noexcept;                   ///< PQntuples
  std::size_t affected_rows() const noexcept;  ///< PQcmdTuples, parsed
  std::string_view value(int row, int col) const noexcept;  ///< PQgetvalue + PQgetlength
  bool is_null(int row, int col) const noexcept;           ///< PQgetisnull

private:
  struct deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
  };
  std::unique_ptr<PGresult, deleter> r_;
};

/// A failed call, classified by what the caller must do.
struct error {
  error_action action = error_action::fail;
  std::string sqlstate;
  std::string message;
};

/// Owns a PGconn. Every method is one libpq call on it.
class connection {
public:
  connection() = default;

  /// PQconnectdbParams: connects with our defaults (application_name, connect_timeout,
  /// keepalives), which settings in `url` override. Check ok() afterwards.
  static connection connect(const std::string& url);

  explicit operator bool() const noexcept { return c_ != nullptr; }
  /// Different for every connect() in this process (0: none), so what a caller keeps about
  /// one connection's database (prepared statements, cached keys) is not used on the next.
  std::uint64_t serial() const noexcept { return serial_; }
  bool ok() const noexcept;              ///< PQstatus == CONNECTION_OK
  std::string_view error_message() const noexcept;  ///< PQerrorMessage, trimmed

  result exec(const char* sql) const noexcept;  ///< PQexec (simple protocol, many statements)
  /// PQprepare, parameter types left to the casts in the statement.
  result prepare(const char* name, const char* sql, int params) const noexcept;
  /// PQexecPrepared; `lengths` and `formats` may be empty (all text, nul-terminated);
  /// a nullptr value is NULL.
  result exec_prepared(const char* name, std::span<const char* const> values,
                       std::span<const int> lengths, std::span<const int> formats,
                       bool binary_results) const noexcept;
  /// PQexecParams with text or binary parameters.
  result exec_params(const char* sql, std::span<const char* const> values,
                     std::span<const int> lengths, std::span<const int> formats,
                     bool binary_results) const noexcept;
  bool put_copy_data(std::string_view data) const noexcept;  ///< PQputCopyData
  bool put_copy_end() const noexcept;                        ///< PQputCopyEnd
  result get_result() const noexcept;                        ///< PQgetResult
  /// PQconsumeInput then PQstatus: notices a server that went away while we were idle.
  bool still_alive() const noexcept;

  /// The error of `r` (expected status `want`), or nullopt when it succeeded.
  std::optional<error> check(const result& r, ExecStatusType want) const;

private:
  struct deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  std::unique_ptr<PGconn, deleter> c_;
  std::uint64_t serial_ = 0;
};

/// `url` without its password, fit for logs: "host=... port=... dbname=... user=...".
std::string redact_conninfo(const std::string& url);

}  // namespace caliper_sessiond::store::pg
