#pragma once
/// Names a thread, so `top -H`, `ps -L -o tid,comm,pcpu`, `perf` and /proc/PID/task/TID/comm
/// tell the server's threads apart. Called by the thread's creator right after creating it, so
/// the name is there before the creator goes on (the thread's own first steps may still run
/// before it: a thread that reads its own name names itself too, as periodic_thread does). Linux
/// keeps 15 bytes of a name; longer names are cut. Never used on the main thread: its name is
/// the process's (/proc/PID/comm), which `pgrep -x caliper-sessiond` and systemd show.

#include <pthread.h>

#include <string>
#include <string_view>
#include <thread>

namespace caliper_sessiond::metrics {

inline void name_thread(std::thread& t, std::string_view name) {
  const std::string cut(name.substr(0, 15));
  pthread_setname_np(t.native_handle(), cut.c_str());  // best effort: a name is only a label
}

}  // namespace caliper_sessiond::metrics
