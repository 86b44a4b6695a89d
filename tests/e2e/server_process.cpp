#include "server_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "pg_test_env.hpp"

namespace caliper_sessiond::testing {
namespace fs = std::filesystem;

std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + cmd);
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

server_process::server_process(options o) : opts_(std::move(o)) {
  char tmpl[] = "/tmp/caliper-e2e.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = free_port();
  if (opts_.tls) {
    const auto [rc, out] = run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>&1");
    if (rc != 0) throw std::runtime_error("openssl failed: " + out);
  }
  std::ofstream toml(dir_ + "/caliper-sessiond.toml");
  toml << "[server]\nlisten = \"127.0.0.1:" << port_ << "\"\n"
       << "tls = " << (opts_.tls ? "true" : "false") << "\n"
       << "tls_cert = \"" << dir_ << "/cert.pem\"\ntls_key = \"" << dir_ << "/key.pem\"\n"
       << opts_.extra_toml << "\n"
       << "[database]\nurl = \"" << opts_.database_url << "\"\n"
       << opts_.database_toml << "\n"
       << "[journal]\ndurability = \"" << opts_.durability << "\"\ndir = \"" << journal_dir() << "\"\n"
       << opts_.journal_toml << "\n"
       << "[log]\nlevel = \"debug\"\n";
  for (const auto& [name, secret] : opts_.api_keys)
    toml << "[[api_keys]]\nname = \"" << name << "\"\nsecret = \"" << secret << "\"\n";
}

server_process::~server_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string server_process::journal_dir() const {
  return opts_.journal_dir.empty() ? dir_ + "/journal" : opts_.journal_dir;
}

std::string server_process::base_url() const {
  return std::string(opts_.tls ? "https" : "http") + "://localhost:" + std::to_string(port_);
}

std::string server_process::log() const {
  try {
    return read_file(dir_ + "/server.log");
  } catch (const std::exception&) {
    return {};
  }
}

bool server_process::start(std::chrono::seconds deadline) {
  // CALIPER_TEST_BINARY (scripts/test sets it) runs another build, e.g. to see a test fail on the old code.
  const char* chosen = std::getenv("CALIPER_TEST_BINARY");
  const std::string binary = chosen != nullptr && *chosen != '\0' ? chosen : CALIPER_BINARY;
  const std::string config = dir_ + "/caliper-sessiond.toml";
  const std::string log_file = dir_ + "/server.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    std::FILE* log = std::freopen(log_file.c_str(), "a", stderr);
    (void)log;
    ::execl(binary.c_str(), binary.c_str(), "--config", config.c_str(), "serve", static_cast<char*>(nullptr));
    std::perror("exec caliper-sessiond");
    ::_exit(127);
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (request("GET", "/healthz").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition, with a deadline
  }
  return false;
}

int server_process::stop(int signal, std::chrono::seconds deadline) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition, with a deadline
  }
  return -1;
}

http_reply server_process::request(const std::string& method, const std::string& path,
                                   const std::vector<std::string>& args) const {
  std::ostringstream cmd;
  const std::string body_file = dir_ + "/reply.body";
  const std::string head_file = dir_ + "/reply.head";
  cmd << "curl -sS --max-time 30 -X " << method << " -o '" << body_file << "' -D '" << head_file
      << "' -w '%{http_code}'";
  if (opts_.tls) cmd << " --cacert '" << dir_ << "/cert.pem'";
  for (const auto& a : args) cmd << " '" << a << "'";
  cmd << " '" << base_url() << path << "' 2>/dev/null";
  http_reply reply;
  const auto [rc, out] = run_command(cmd.str());
  (void)rc;
  reply.status = out.empty() ? 0 : std::atoi(out.c_str());
  if (reply.status == 0) return reply;
  reply.body = read_file(body_file);
  std::istringstream head(read_file(head_file));
  for (std::string line; std::getline(head, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    reply.headers[name] = value;
  }
  return reply;
}

http_reply server_process::post_file(const std::string& file, const std::string& content_type) const {
  return request("POST", "/caliper",
                 {"-H", "Authorization: Bearer " + key(), "-H", "Content-Type: " + content_type, "--data-binary",
                  "@" + file});
}

void server_process::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

}  // namespace caliper_sessiond::testing
