#pragma once
/// Runs the real caliper-sessiond binary for end-to-end tests, and talks to it with curl.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace caliper_sessiond::testing {

/// An HTTP exchange as curl saw it.
struct http_reply {
  int status = 0;  ///< 0 when curl could not connect
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
};

/// Runs a command; returns its exit status and what it printed on stdout.
std::pair<int, std::string> run_command(const std::string& cmd);

/// A port that was free a moment ago on 127.0.0.1.
int free_port();

class server_process {
public:
  struct options {
    std::string database_url;
    bool tls = true;
    std::string extra_toml;  ///< appended to the [server] section
    std::string database_toml;  ///< appended to the [database] section
    std::string durability = "database";  ///< [journal] durability: 200 after commit, as these tests expect
    std::string journal_toml;   ///< appended to the [journal] section
    std::string journal_dir;    ///< default: a folder "journal" in dir()
    std::vector<std::pair<std::string, std::string>> api_keys{{"learn-test", "test-secret-0123456789abcdef"}};
  };

  explicit server_process(options o);
  ~server_process();  ///< kills the server if still running
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  /// Starts the binary and waits until /healthz answers. False (with the log) when it does not.
  bool start(std::chrono::seconds deadline = std::chrono::seconds(30));
  /// Sends a signal and waits for the exit status (-1 when it did not exit in time).
  /// start() may be called again afterwards: same folder, port and configuration.
  int stop(int signal, std::chrono::seconds deadline = std::chrono::seconds(30));
  /// kill -9, and wait for it to be gone.
  void kill() { stop(9); }
  /// Sends a signal without waiting (e.g. SIGHUP to reload).
  void signal(int sig) const;
  /// The configuration file the server reads (rewrite it, then signal(SIGHUP)).
  std::string config_path() const { return dir_ + "/caliper-sessiond.toml"; }

  /// curl against the server: `path` like "/caliper", extra curl arguments as given.
  http_reply request(const std::string& method, const std::string& path, const std::vector<std::string>& args = {}) const;
  /// POSTs a body file with the first API key and Content-Type application/json.
  http_reply post_file(const std::string& file, const std::string& content_type = "application/json") const;

  std::string base_url() const;
  const std::string& dir() const { return dir_; }
  const std::string& key() const { return opts_.api_keys.front().second; }
  int port() const { return port_; }
  std::string cert() const { return dir_ + "/cert.pem"; }
  std::string journal_dir() const;
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string log() const;

private:
  options opts_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace caliper_sessiond::testing
