#include "durability_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "pg_test_env.hpp"

namespace caliper_sessiond::testing {

load_run::load_run(const server_process& server, const options& o, const std::string& name)
    : load_run("https://127.0.0.1:" + std::to_string(server.port()) + "/caliper", server.key(), server.cert(), o,
               server.dir() + "/" + name) {}

load_run::load_run(const std::string& url, const std::string& key, const std::string& cacert, const options& o,
                   const std::string& base) {
  out_ = base + ".out";
  err_ = base + ".err";
  ids_ = base + ".ids";
  std::vector<std::string> args{CALIPER_LOADGEN,
                                "--url", url,
                                "--key", key,
                                "--cacert", cacert,
                                "--connections", std::to_string(o.connections),
                                "--events", std::to_string(o.events),
                                "--seconds", std::to_string(o.seconds),
                                "--rate", std::to_string(o.rate),
                                "--max-requests", std::to_string(o.max_requests),
                                "--reconnect", o.reconnect ? "1" : "0",
                                "--ids-out", ids_};
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::perror("exec caliper-loadgen");
    ::_exit(127);
  }
}

load_run::~load_run() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool load_run::wait(std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (pid_ > 0 && std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition, with a deadline
  }
  return pid_ <= 0;
}

std::vector<std::string> load_run::acked_ids() const {
  std::vector<std::string> ids;
  std::ifstream in(ids_);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) ids.push_back(line);
  return ids;
}

std::string load_run::summary() const {
  try {
    return read_file(out_) + read_file(err_).substr(0, 2000);
  } catch (const std::exception&) {
    return {};
  }
}

long long load_run::count(const std::string& what) const {
  const std::string s = read_file(out_);
  const auto at = s.find("\"" + what + "\":");
  if (at == std::string::npos) return 0;
  return std::atoll(s.c_str() + at + what.size() + 3);
}

server_process::options server_opts(const std::string& url, const std::string& journal_toml,
                                    const std::string& journal_dir, const std::string& database_toml) {
  server_process::options o;
  o.database_url = url;
  o.durability = "journal";
  o.journal_toml = journal_toml;
  o.journal_dir = journal_dir;
  o.database_toml = database_toml;
  return o;
}

load_run::options load_opts(int connections, int max_requests, double seconds, double rate, bool reconnect) {
  load_run::options o;
  o.connections = connections;
  o.max_requests = max_requests;
  o.seconds = seconds;
  o.rate = rate;
  o.reconnect = reconnect;
  return o;
}

double metric(const server_process& server, const std::string& name) {
  const auto reply = server.request("GET", "/metrics");
  std::istringstream in(reply.body);
  for (std::string line; std::getline(in, line);)
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == ' ')
      return std::atof(line.c_str() + name.size() + 1);
  return -1;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a condition, with a deadline
  }
  return pred();
}

std::map<std::string, int> stored_counts(const std::string& url) {
  std::map<std::string, int> out;
  for (const auto& row : pg_test_env::query(url, "select event_id::text, count(*) from caliper.session_events group by 1"))
    out[row[0]] = std::atoi(row[1].c_str());
  return out;
}

std::string check_exactly_once(const std::string& url, const std::vector<std::string>& ids) {
  const auto counts = stored_counts(url);
  std::ostringstream problems;
  int missing = 0, twice = 0;
  for (const auto& id : ids) {
    const auto it = counts.find(id);
    if (it == counts.end()) {
      if (++missing <= 5) problems << "missing " << id << "\n";
    }
  }
  for (const auto& [id, n] : counts)
    if (n != 1 && ++twice <= 5) problems << id << " stored " << n << " times\n";
  if (missing + twice == 0) return {};
  problems << missing << " of " << ids.size() << " acknowledged events missing, " << twice << " stored more than once";
  return problems.str();
}

std::string wait_all_stored(const std::string& url, const std::vector<std::string>& ids, std::chrono::seconds deadline) {
  wait_until(
      [&] {
        const auto counts = stored_counts(url);
        for (const auto& id : ids)
          if (!counts.contains(id)) return false;
        return true;
      },
      deadline);
  return check_exactly_once(url, ids);
}

}  // namespace caliper_sessiond::testing
