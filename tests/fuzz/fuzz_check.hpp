#pragma once
/// Invariant checks for the fuzz targets: a failed check aborts, which libFuzzer (and the
/// replay test) reports as a crash with the message on stderr.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (false)

/// What the target made of its last input, for the replay test to compare with the outcome in
/// a regression file's name (tests/fuzz/regressions/README.md): envelope_fuzzer "400"/"422"
/// or "ok-<events>-<rejects>"; http_fuzzer the first final status written, or "none".
std::string fuzz_last_outcome();
