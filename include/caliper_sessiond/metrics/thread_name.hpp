#pragma once
/// Names the calling thread, so `top -H`, `ps -L -o tid,comm,pcpu`, `perf` and
/// /proc/PID/task/TID/comm tell the server's threads apart. Linux keeps 15 bytes of a name;
/// longer names are cut. Never called on the main thread: its name is the process's
/// (/proc/PID/comm), which `pgrep -x caliper-sessiond` and systemd show.

#include <pthread.h>

#include <string>
#include <string_view>

namespace caliper_sessiond::metrics {

inline void name_this_thread(std::string_view name) {
  const std::string cut(name.substr(0, 15));
  pthread_setname_np(pthread_self(), cut.c_str());  // best effort: a name is only a label
}

}  // namespace caliper_sessiond::metrics
