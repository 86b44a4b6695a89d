// caliper-sessiond forget: wiring of configuration and store. The id is never logged.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

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
  const std::string masked =
      c.actors_masked == 0 ? ""
                           : ", " + std::string(parsed->dry_run ? "would mask" : "masked") + " the person as the actor of " +
                                 std::to_string(c.actors_masked) + " events of other users";
  std::printf("%s%llu events, %llu sessions, %llu rejects (%llu user IRIs matched)%s%s\n",
              parsed->dry_run ? "dry run, nothing changed: would erase " : "erased ",
              static_cast<unsigned long long>(c.events), static_cast<unsigned long long>(c.sessions),
              static_cast<unsigned long long>(c.rejects), static_cast<unsigned long long>(c.users), masked.c_str(),
              parsed->dry_run ? "" : "; recorded in caliper.erasures");
  if (!parsed->dry_run) {
    spdlog::info("forget: erased {} events, {} sessions, {} rejects, masked {} actors; {} user IRIs deleted from "
                 "caliper.texts now (the others once no server may hold them: maintenance)",
                 c.events, c.sessions, c.rejects, c.actors_masked, result.texts_deleted);
    if (!result.texts_note.empty()) spdlog::warn("forget: {}", result.texts_note);
  }
  return exit_done;
}

}  // namespace caliper_sessiond::app
