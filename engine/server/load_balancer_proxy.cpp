#include "engine/server/load_balancer_proxy.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <map>
#include <thread>
#include <tuple>
#include <vector>

#include "engine/client/port_forward_pool.h"
#include "engine/controllers/controller_manager.h"
#include "engine/controllers/endpoints_controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/object_fields.h"

namespace kd::server {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using controllers::CachedObject;
using controllers::fieldOf;

constexpr std::string_view kPodKeyPrefix = "pods:";

// A Service port as the load balancer serves it; a change of any part is a new listener.
struct PortSpec {
  int port = 0;
  std::string protocol, name;
  auto operator<=>(const PortSpec&) const = default;
};

// A pod port a connection may go to.
struct Target {
  std::string ns, pod;
  uint16_t port = 0;
};

// One Service port's listener, shared with the accept loop on the I/O thread.
struct Listener {
  std::string ns, service;
  PortSpec spec;
  std::unique_ptr<tcp::acceptor> acceptor;  // null when the port could not be had
  std::string error;                        // the PortStatus reason, when it could not
  std::string message;                      // why, for a person
  bool retryable = false;                   // a later bind may work (the port was taken)
  std::atomic<uint64_t> next{0};            // round-robin position
};

struct Balancer {
  json service;  // as last seen: deleted Services still get their events
  std::map<PortSpec, std::shared_ptr<Listener>> listeners;
};

bool wantsLoadBalancer(const json& service) {
  const json& spec = fieldOf(service, "spec");
  return spec.value("type", "") == "LoadBalancer" && spec.value("loadBalancerClass", "").empty() &&
         !controllers::beingDeleted(service);
}

std::vector<PortSpec> portsOf(const json& service) {
  std::vector<PortSpec> ports;
  for (const auto& p : fieldOf(service, "spec").value("ports", json::array())) {
    if (!p.is_object()) continue;
    ports.push_back({p.value("port", 0), p.value("protocol", "TCP"), p.value("name", "")});
  }
  return ports;
}

// The PortStatus reason and a message a person can act on, for a port that could not be bound.
void describeBindError(Listener& l, const std::string& address,
                       const boost::system::error_code& ec) {
  const std::string where = address + ":" + std::to_string(l.spec.port);
  if (ec == net::error::address_in_use) {
    l.error = "kubedesk.io/PortInUse";
    l.message = where +
                " is already in use on this machine: stop what listens there, or give "
                "the Service another port";
    l.retryable = true;
  } else if (ec == net::error::access_denied) {
    l.error = "kubedesk.io/PortNotPermitted";
    l.message = "the engine may not listen on " + where +
                ": ports below 1024 need root (or CAP_NET_BIND_SERVICE); use a port above 1023";
    l.retryable = false;
  } else {
    l.error = "kubedesk.io/ListenFailed";
    l.message = "cannot listen on " + where + ": " + ec.message();
    l.retryable = true;
  }
}

}  // namespace

class LoadBalancerProxy::Impl {
 public:
  Impl(ObjectService& objects, LoadBalancerProxyOptions options)
      : objects_(objects),
        options_(std::move(options)),
        services_(objects.kinds().byResource("", "v1", "services")),
        slices_(objects.kinds().byResource("discovery.k8s.io", "v1", "endpointslices")),
        pods_(objects.kinds().byResource("", "v1", "pods")),
        recorder_(objects, "service-controller"),
        backoff_(options_.retryBase, options_.retryMax),
        pool_(options_.apiClient ? options_.apiClient
                                 : std::function<const client::ApiClient*()>([] {
                                     return static_cast<const client::ApiClient*>(nullptr);
                                   })),
        work_(net::make_work_guard(ioc_)),
        io_([this] { ioc_.run(); }) {}

  ~Impl() {
    onIo([this] {
      for (auto& [key, balancer] : balancers_) {
        for (auto& [spec, listener] : balancer.listeners) closeListener(*listener);
      }
    });
    work_.reset();  // run() returns once the cancelled accepts have completed
    io_.join();
    balancers_.clear();  // the acceptors go before their io_context
  }

  void setup(controllers::ControllerManager& manager, controllers::WorkQueue& queue) {
    queue_ = &queue;
    serviceInformer_ = &manager.informer(*services_);
    sliceInformer_ = &manager.informer(*slices_);
    auto byKey = [&queue](const CachedObject& obj) { queue.add(api::objectKey(*obj)); };
    serviceInformer_->addHandlers(
        {byKey, [byKey](const CachedObject&, const CachedObject& s) { byKey(s); }, byKey});
    manager.informer(*pods_).addHandlers({nullptr, nullptr, [&queue](const CachedObject& pod) {
                                            queue.add(std::string(kPodKeyPrefix) +
                                                      api::objectKey(*pod));
                                          }});
  }

  Status sync(const std::string& key) {
    if (key.starts_with(kPodKeyPrefix)) {
      auto [ns, pod] = api::splitObjectKey(std::string_view(key).substr(kPodKeyPrefix.size()));
      pool_.drop(ns, pod);
      return {};
    }
    CachedObject service = serviceInformer_->get(key);
    if (!service || !wantsLoadBalancer(*service)) {
      if (auto it = balancers_.find(key); it != balancers_.end()) release(key, it->second);
      return service ? clearStatus(*service) : Status();
    }
    Balancer& balancer = balancers_[key];
    balancer.service = *service;
    if (reconcileListeners(key, balancer)) report(key, balancer);
    return writeStatus(*service, balancer);
  }

 private:
  // Makes the listeners match the Service's ports; true when anything was tried.
  bool reconcileListeners(const std::string& key, Balancer& balancer) {
    const std::vector<PortSpec> wanted = portsOf(balancer.service);
    std::vector<std::shared_ptr<Listener>> stale;
    for (const auto& [spec, listener] : balancer.listeners) {
      const bool keep = std::find(wanted.begin(), wanted.end(), spec) != wanted.end();
      if (!keep || listener->retryable) stale.push_back(listener);
    }
    std::vector<PortSpec> missing;
    for (const auto& spec : wanted) {
      auto it = balancer.listeners.find(spec);
      if (it == balancer.listeners.end() || it->second->retryable) missing.push_back(spec);
    }
    if (stale.empty() && missing.empty()) return false;
    recorder_.record(balancer.service, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer");
    // Closed before anything opens: a port whose name changed is bound again at once.
    onIo([&] {
      for (const auto& listener : stale) closeListener(*listener);
    });
    for (const auto& listener : stale) balancer.listeners.erase(listener->spec);
    const auto [ns, name] = api::splitObjectKey(key);
    for (const auto& spec : missing) balancer.listeners[spec] = openListener(ns, name, spec);
    return true;
  }

  // Events for what reconcileListeners did, and a retry while a port could not be bound.
  void report(const std::string& key, const Balancer& balancer) {
    std::string problems;
    bool retry = false;
    for (const auto& [spec, listener] : balancer.listeners) {
      if (listener->error.empty()) continue;
      problems += (problems.empty() ? "" : "; ") + listener->message;
      retry = retry || listener->retryable;
    }
    if (problems.empty()) {
      backoff_.forget(key);
      recorder_.record(balancer.service, "Normal", "EnsuredLoadBalancer", "Ensured load balancer");
      return;
    }
    recorder_.record(balancer.service, "Warning", "SyncLoadBalancerFailed",
                     "Error syncing load balancer: failed to ensure load balancer: " + problems);
    if (retry) queue_->addAfter(key, backoff_.when(key));
  }

  std::shared_ptr<Listener> openListener(const std::string& ns, const std::string& service,
                                         const PortSpec& spec) {
    auto l = std::make_shared<Listener>();
    l->ns = ns;
    l->service = service;
    l->spec = spec;
    if (spec.protocol != "TCP") {
      l->error = "kubedesk.io/ProtocolNotSupported";
      l->message = "port " + std::to_string(spec.port) + "/" + spec.protocol +
                   ": the KubeDesk load balancer forwards TCP only";
      return l;
    }
    onIo([&] {
      boost::system::error_code ec;
      const tcp::endpoint endpoint(net::ip::make_address(options_.address, ec),
                                   static_cast<uint16_t>(spec.port));
      auto acceptor = std::make_unique<tcp::acceptor>(ioc_);
      if (!ec) acceptor->open(endpoint.protocol(), ec);
      if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor->bind(endpoint, ec);
      if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
      if (ec) return describeBindError(*l, options_.address, ec);
      l->acceptor = std::move(acceptor);
      accept(l);
    });
    return l;
  }

  // On the I/O thread.
  void closeListener(Listener& l) {
    boost::system::error_code ignored;
    if (l.acceptor) l.acceptor->close(ignored);
  }

  // On the I/O thread, as long as the listener is open.
  void accept(const std::shared_ptr<Listener>& l) {
    l->acceptor->async_accept([this, l](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !l->acceptor->is_open()) return;
      if (!ec) route(*l, std::move(socket));
      accept(l);
    });
  }

  void route(Listener& l, tcp::socket socket) {
    const std::vector<Target> targets = readyTargets(l);
    boost::system::error_code ec;
    if (targets.empty()) {
      socket.close(ec);  // nothing ready: closed at once
      return;
    }
    const Target& target = targets[l.next++ % targets.size()];
    socket.set_option(tcp::no_delay(true), ec);
    const int fd = socket.release(ec);
    if (!ec) pool_.forward(fd, target.ns, target.pod, target.port);
  }

  // The ready endpoints of the listener's Service port, in a stable order: slices by name,
  // endpoints as the slice lists them. Only endpoints backed by a pod can be reached.
  std::vector<Target> readyTargets(const Listener& l) const {
    std::vector<CachedObject> slices;
    for (auto& slice : sliceInformer_->list(l.ns)) {
      const json& labels = fieldOf(fieldOf(*slice, "metadata"), "labels");
      if (labels.value(controllers::kServiceNameLabel, "") == l.service) slices.push_back(slice);
    }
    std::sort(slices.begin(), slices.end(), [](const CachedObject& a, const CachedObject& b) {
      return controllers::nameOf(*a) < controllers::nameOf(*b);
    });
    std::vector<Target> targets;
    for (const auto& slice : slices) {
      int port = 0;
      for (const auto& p : slice->value("ports", json::array())) {
        if (p.value("name", "") == l.spec.name && p.value("protocol", "TCP") == l.spec.protocol) {
          port = p.value("port", 0);
        }
      }
      if (port <= 0 || port > 65535) continue;
      for (const auto& ep : slice->value("endpoints", json::array())) {
        const json& ref = fieldOf(ep, "targetRef");
        if (!fieldOf(ep, "conditions").value("ready", true) || ref.value("kind", "") != "Pod") {
          continue;
        }
        targets.push_back(
            {ref.value("namespace", l.ns), ref.value("name", ""), static_cast<uint16_t>(port)});
      }
    }
    return targets;
  }

  void release(const std::string& key, Balancer& balancer) {
    recorder_.record(balancer.service, "Normal", "DeletingLoadBalancer", "Deleting load balancer");
    onIo([&] {
      for (auto& [spec, listener] : balancer.listeners) closeListener(*listener);
    });
    recorder_.record(balancer.service, "Normal", "DeletedLoadBalancer", "Deleted load balancer");
    balancers_.erase(key);
    backoff_.forget(key);
  }

  Status writeStatus(const json& service, const Balancer& balancer) {
    json ports = json::array();
    for (const auto& spec : portsOf(service)) {
      json port = {{"port", spec.port}, {"protocol", spec.protocol}};
      auto it = balancer.listeners.find(spec);
      if (it != balancer.listeners.end() && !it->second->error.empty()) {
        port["error"] = it->second->error;
      }
      ports.push_back(std::move(port));
    }
    json status = fieldOf(service, "status");
    status["loadBalancer"] = {
        {"ingress", {{{"ip", options_.address}, {"ipMode", "VIP"}, {"ports", std::move(ports)}}}}};
    return controllers::writeStatusIfChanged(objects_, *services_, service, std::move(status));
  }

  // A Service that is no longer of type LoadBalancer loses its ingress, as the service
  // controller clears it. (One with a loadBalancerClass belongs to another implementation.)
  Status clearStatus(const json& service) {
    if (fieldOf(service, "spec").value("type", "") == "LoadBalancer") return {};
    json status = fieldOf(service, "status");
    if (fieldOf(status, "loadBalancer").value("ingress", json::array()).empty()) return {};
    status["loadBalancer"] = json::object();
    return controllers::writeStatusIfChanged(objects_, *services_, service, std::move(status));
  }

  // Runs `fn` on the I/O thread, where the acceptors live, and waits for it.
  template <class Fn>
  void onIo(Fn&& fn) {
    std::promise<void> done;
    net::post(ioc_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  ObjectService& objects_;
  const LoadBalancerProxyOptions options_;
  const api::KindInfo* services_;
  const api::KindInfo* slices_;
  const api::KindInfo* pods_;
  controllers::Informer* serviceInformer_ = nullptr;
  controllers::Informer* sliceInformer_ = nullptr;
  controllers::WorkQueue* queue_ = nullptr;
  controllers::EventRecorder recorder_;
  controllers::ItemBackoff backoff_;  // only the one worker touches it
  client::PortForwardPool pool_;
  std::map<std::string, Balancer> balancers_;  // by Service key; only the worker touches it

  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::thread io_;
};

LoadBalancerProxy::LoadBalancerProxy(ObjectService& objects, LoadBalancerProxyOptions options)
    : impl_(std::make_unique<Impl>(objects, std::move(options))) {}
LoadBalancerProxy::~LoadBalancerProxy() = default;

void LoadBalancerProxy::setup(controllers::ControllerManager& manager,
                              controllers::WorkQueue& queue) {
  impl_->setup(manager, queue);
}

Status LoadBalancerProxy::sync(const std::string& key) {
  return impl_->sync(key);
}

}  // namespace kd::server
