#include "operator_args.hpp"

#include "caliper_sessiond/caliper/time.hpp"

namespace caliper_sessiond::app {
namespace {

/// The value of `--name VALUE` or `--name=VALUE` at args[i]; advances i past it.
std::optional<std::string> option_value(std::span<const std::string> args, std::size_t& i, std::string_view name) {
  const std::string& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) return std::nullopt;
    return args[++i];
  }
  return a.substr(name.size() + 1);
}

bool is_option(const std::string& a, std::string_view name) {
  return a == name || (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=');
}

}  // namespace

std::optional<reprocess_args> parse_reprocess_args(std::span<const std::string> args, std::string& error) {
  reprocess_args out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dry-run") {
      out.dry_run = true;
    } else if (is_option(args[i], "--since")) {
      const auto value = option_value(args, i, "--since");
      const auto us = value ? caliper::parse_rfc3339_us(*value) : std::nullopt;
      if (!us) {
        error = "--since needs an RFC 3339 time, e.g. 2024-03-01T00:00:00Z";
        return std::nullopt;
      }
      out.since_us = us;
    } else {
      error = "reprocess-rejects: unexpected argument " + args[i];
      return std::nullopt;
    }
  }
  return out;
}

std::optional<forget_args> parse_forget_args(std::span<const std::string> args, std::string& error) {
  forget_args out;
  bool have_user = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dry-run") {
      out.dry_run = true;
    } else if (is_option(args[i], "--user") && !have_user) {
      const auto value = option_value(args, i, "--user");
      if (!value || value->empty()) {
        error = "--user needs an id: a user IRI, a bb:user.id or an external id";
        return std::nullopt;
      }
      out.user = *value;
      have_user = true;
    } else {
      error = "forget: unexpected argument " + args[i];
      return std::nullopt;
    }
  }
  if (!have_user) {
    error = "forget needs --user ID";
    return std::nullopt;
  }
  return out;
}

}  // namespace caliper_sessiond::app
