// caliper-sessiond forget: wiring of configuration and store. The id is never logged.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "caliper_sessiond/store/erasure.hpp"
#include "operator_args.hpp"
#include "operator_commands.hpp"

namespace caliper_sessiond::app {

int run_forget(const config::config& cfg, std::span<const std::string> args) {
  std::string error;
  const auto parsed = parse_forget_args(args, error);
  if (!parsed) {
    std::fprintf(stderr, "caliper-sessiond: %s\n", error.c_str());
    return exit_usage;
  }
  const auto result = store::forget_user(cfg.database.url, parsed->user, parsed->dry_run);
  if (!result.ok) {
    spdlog::error("forget: nothing was erased: {}", result.error);
    return exit_failed;
  }
  const auto& c = result.counts;
  std::printf("%s%llu events, %llu sessions, %llu rejects (%llu user IRIs matched)%s\n",
              parsed->dry_run ? "dry run, nothing changed: would erase " : "erased ",
              static_cast<unsigned long long>(c.events), static_cast<unsigned long long>(c.sessions),
              static_cast<unsigned long long>(c.rejects), static_cast<unsigned long long>(c.users),
              parsed->dry_run ? "" : "; recorded in caliper.erasures");
  if (!parsed->dry_run) spdlog::info("forget: erased {} events, {} sessions, {} rejects", c.events, c.sessions, c.rejects);
  return exit_done;
}

}  // namespace caliper_sessiond::app
