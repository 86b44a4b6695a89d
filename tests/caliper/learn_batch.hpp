#pragma once
/// A generated Learn 1.1 batch of n entries from the templates of tests/fixtures/learn-batch
/// (see its README): used by the parser tests and the e2e tests alike.

#include <array>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

#include "pg_test_env.hpp"

namespace caliper_sessiond::test {

inline constexpr std::string_view learn_batch_site =
    "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/8f3c1d20-6b2e-4e0a-9d1c-2a7b5e4f6c81";
inline constexpr std::string_view learn_batch_sensor = "8f3c1d20-6b2e-4e0a-9d1c-2a7b5e4f6c81";

/// Template i % 10 yields a SessionEvent for these two: LoggedIn (0) and LoggedOut (7).
inline bool learn_batch_is_session_event(std::size_t i) { return i % 10 == 0 || i % 10 == 7; }

/// The placeholders of entry i.
struct learn_batch_values {
  std::string index;  ///< {{I}}: 12 digits
  std::string time;   ///< {{T}}
  std::string user;   ///< {{U}}: 4 hex digits
  std::string number; ///< {{N}}
};

inline learn_batch_values learn_batch_entry(std::size_t i) {
  char index[32], time[64], user[32];
  std::snprintf(index, sizeof index, "%012zu", i);
  std::snprintf(time, sizeof time, "2024-02-01T10:%02zu:%02zu.000Z", i / 60, i % 60);
  std::snprintf(user, sizeof user, "%04zx", i % 37);
  return {index, time, user, std::to_string(i % 37)};
}

/// The actor of entry i.
inline std::string learn_batch_user(std::size_t i) {
  return std::string(learn_batch_site) + "/users/5c2e9d0f1a3b4c5d6e7f8091a2b3" + learn_batch_entry(i).user;
}

inline std::string learn_batch(std::size_t n) {
  static const std::array<const char*, 10> names{
      "0-session-loggedin.json", "1-lti-loggedin.json", "2-view.json",          "3-navigation.json",
      "4-person.json",           "5-lti-loggedout.json", "6-view.json",         "7-session-loggedout.json",
      "8-navigation.json",       "9-course-iri.json"};
  std::array<std::string, 10> templates;
  for (std::size_t k = 0; k < names.size(); ++k)
    templates[k] = testing::read_file(testing::source_dir() + "/tests/fixtures/learn-batch/" + names[k]);
  std::string out = "{\"sensor\": \"" + std::string(learn_batch_sensor) +
                    "\", \"sendTime\": \"2024-02-01T11:00:00.000Z\", \"dataVersion\": "
                    "\"http://purl.imsglobal.org/ctx/caliper/v1p1\", \"data\": [\n";
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = learn_batch_entry(i);
    std::string e = templates[i % 10];
    for (const auto& [key, value] : {std::pair<std::string_view, const std::string&>{"{{I}}", v.index},
                                     {"{{T}}", v.time}, {"{{U}}", v.user}, {"{{N}}", v.number}})
      for (auto p = e.find(key); p != std::string::npos; p = e.find(key, p + value.size())) e.replace(p, key.size(), value);
    while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
    out += e;
    out += i + 1 < n ? ",\n" : "\n";
  }
  out += "]}\n";
  return out;
}

}  // namespace caliper_sessiond::test
