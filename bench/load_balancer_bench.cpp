// load_balancer_bench: what the engine's LoadBalancer proxy costs a connection. A real
// kubedesk-engine and a real kubedesk-node running two busybox httpd pods under runc (needs
// root) behind a Service of type LoadBalancer on 127.0.0.1. Measured: the first request (which
// opens the port-forward session to its pod), sequential small requests (each a new TCP
// connection, as HTTP/1.0), 8 concurrent clients, one large download, and the engine's CPU per
// request. Numbers go to docs/benchmarks.md; nothing here is a pass/fail check.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/engine_process.h"
#include "engine/api/kinds.h"
#include "engine/client/api_client.h"

namespace {

using kd::json;
using Clock = std::chrono::steady_clock;

const char* const kUsage = R"(Usage: load_balancer_bench [options]
  --requests N   sequential requests (default 500)
  --big MB       size of the large download (default 64)
  --quick        50 requests, 4 MB (smoke run)
)";

const kd::api::KindInfo& kindOf(const char* resource, const char* group = "") {
  return *kd::api::KindsRegistry::builtin().byResource(group, "v1", resource);
}

uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// GET `path` from 127.0.0.1:port over HTTP/1.0; the bytes of the whole reply (0 on failure).
size_t get(uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  size_t got = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[65536];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 30000) != 1) break;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  return got;
}

json deployment(int bigMiB) {
  json d = kd::bench::webDeployment(2, "busybox");
  json& c = d["spec"]["template"]["spec"]["containers"][0];
  c["command"] = {"sh", "-c",
                  "mkdir -p /www && echo ok > /www/index.html && dd if=/dev/zero of=/www/big "
                  "bs=1M count=" +
                      std::to_string(bigMiB) + " 2>/dev/null && exec httpd -f -p 8080 -h /www"};
  c["readinessProbe"] = {{"httpGet", {{"path", "/"}, {"port", 8080}}}, {"periodSeconds", 1}};
  d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 1;
  return d;
}

json service(uint16_t port) {
  json spec = {{"type", "LoadBalancer"}, {"selector", {{"app", "web"}}}};
  spec["ports"] = json::array({{{"port", port}, {"targetPort", 8080}}});
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", "web"}}},
          {"spec", std::move(spec)}};
}

bool waitUntil(const std::function<bool()>& check, int seconds) {
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

int readyEndpoints(kd::client::ApiClient& api) {
  auto slices = api.list(kindOf("endpointslices", "discovery.k8s.io"), "default");
  int ready = 0;
  if (!slices.ok()) return 0;
  for (const auto& s : (*slices)["items"]) {
    if (s.value("/metadata/labels/kubernetes.io~1service-name"_json_pointer, "") != "web") continue;
    for (const auto& e : s.value("endpoints", json::array())) {
      ready += e.value("/conditions/ready"_json_pointer, false);
    }
  }
  return ready;
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 500, bigMiB = 64;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      requests = 50;
      bigMiB = 4;
    } else if (!std::strcmp(argv[i], "--requests") && i + 1 < argc) {
      requests = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--big") && i + 1 < argc) {
      bigMiB = std::atoi(argv[++i]);
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::fputs("load_balancer_bench: kubedesk-node runs containers and needs root\n", stderr);
    return 1;
  }
  const auto bin = std::filesystem::canonical("/proc/self/exe").parent_path();
  kd::bench::EngineProcess engine(bin / "kubedesk-engine");
  if (kd::Status st = engine.start(); !st) {
    std::fprintf(stderr, "load_balancer_bench: %s\n", st.message().c_str());
    return 1;
  }
  // Pods need IPs for endpoints: a node namespace of the bench's own, removed at the end.
  const std::string netns = "kd-lbbench-" + std::to_string(::getpid());
  if (std::system(("ip netns add " + netns).c_str()) != 0) return 1;
  struct RemoveNetns {
    std::string name;
    ~RemoveNetns() {
      if (std::system(("ip netns del " + name).c_str()) != 0) std::fputs("netns left\n", stderr);
    }
  } removeNetns{netns};
  kd::bench::AgentProcess agent(bin / "kubedesk-node", engine, "n1");
  agent.setPodNetwork(netns);
  if (kd::Status st = agent.start(); !st) return 1;
  auto client = engine.adminClient();
  if (!client) return 1;
  kd::client::ApiClient& api = **client;

  const uint16_t port = freePort();
  if (!api.create(kindOf("deployments", "apps"), "default", deployment(bigMiB)).ok() ||
      !api.create(kindOf("services"), "default", service(port)).ok()) {
    std::fputs("load_balancer_bench: cannot create the Deployment and Service\n", stderr);
    return 1;
  }
  if (!waitUntil([&] { return readyEndpoints(api) == 2; }, 180)) {
    std::fputs("load_balancer_bench: the pods never became ready\n", stderr);
    return 1;
  }

  // The first request to each pod opens its port-forward session.
  kd::bench::Samples first, warm, concurrent;
  for (int i = 0; i < 2; ++i) {
    const auto t0 = Clock::now();
    if (get(port, "/") == 0) return std::fputs("load_balancer_bench: no answer\n", stderr), 1;
    first.add(Clock::now() - t0);
  }
  const double cpu0 = engine.cpuSeconds();
  const auto seq0 = Clock::now();
  for (int i = 0; i < requests; ++i) {
    const auto t0 = Clock::now();
    if (get(port, "/") == 0)
      return std::fputs("load_balancer_bench: a request failed\n", stderr), 1;
    warm.add(Clock::now() - t0);
  }
  const double seqSeconds = std::chrono::duration<double>(Clock::now() - seq0).count();
  const double cpuPerRequest = (engine.cpuSeconds() - cpu0) / requests;

  std::atomic<int> failures{0};
  std::mutex mu;
  const auto par0 = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < requests / 8; ++i) {
        const auto t0 = Clock::now();
        if (get(port, "/") == 0) ++failures;
        std::lock_guard lock(mu);
        concurrent.add(Clock::now() - t0);
      }
    });
  }
  for (auto& t : clients) t.join();
  const double parSeconds = std::chrono::duration<double>(Clock::now() - par0).count();

  const auto big0 = Clock::now();
  const size_t bigBytes = get(port, "/big");
  const double bigSeconds = std::chrono::duration<double>(Clock::now() - big0).count();

  std::printf("| measure | result |\n|---|---|\n");
  std::printf("| first request to each pod (opens its session) | %.1f / %.1f ms |\n",
              first.percentile(0), first.percentile(100));
  std::printf("| %d sequential requests, p50 / p90 / p99 | %.2f / %.2f / %.2f ms (%.0f req/s) |\n",
              requests, warm.median(), warm.percentile(90), warm.percentile(99),
              requests / seqSeconds);
  std::printf(
      "| 8 concurrent clients, %d requests, p50 / p99 | %.2f / %.2f ms (%.0f req/s, %d "
      "failed) |\n",
      requests / 8 * 8, concurrent.median(), concurrent.percentile(99),
      (requests / 8 * 8) / parSeconds, failures.load());
  std::printf("| one %d MiB download | %.1f MB/s (%zu bytes) |\n", bigMiB,
              bigBytes / 1e6 / bigSeconds, bigBytes);
  std::printf("| engine CPU per sequential request | %.2f ms |\n", cpuPerRequest * 1000);
  std::printf("| engine RSS after | %.1f MB |\n", engine.rssKiB() / 1024.0);

  api.remove(kindOf("services"), "default", "web");
  api.remove(kindOf("deployments", "apps"), "default", "web");
  waitUntil(
      [&] {
        auto pods = api.list(kindOf("pods"), "default");
        return pods.ok() && (*pods)["items"].empty();
      },
      60);
  return failures.load() == 0 ? 0 : 1;
}
