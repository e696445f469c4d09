#include "engine/controllers/node_ipam_controller.h"

#include <arpa/inet.h>

#include <set>

#include "engine/controllers/controller_manager.h"

namespace kd::controllers {
namespace {

struct Subnet {
  uint32_t base = 0;  // host byte order
  int bits = 0;
};

std::optional<Subnet> parseCidr(const std::string& cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string::npos) return std::nullopt;
  in_addr a{};
  if (::inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1) return std::nullopt;
  int bits = -1;
  try {
    bits = std::stoi(cidr.substr(slash + 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (bits < 0 || bits > 32) return std::nullopt;
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return Subnet{ntohl(a.s_addr) & mask, bits};
}

std::string formatCidr(uint32_t base, int bits) {
  in_addr a{htonl(base)};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(bits);
}

std::string podCidrOf(const json& node) {
  auto spec = node.find("spec");
  if (spec == node.end() || !spec->is_object()) return {};
  return spec->value("podCIDR", "");
}

}  // namespace

NodeIpamController::NodeIpamController(server::ObjectService& objects, NodeIpamOptions options)
    : objects_(objects),
      options_(std::move(options)),
      nodes_(objects.kinds().byResource("", "v1", "nodes")),
      recorder_(objects, "cidrAllocator") {}

NodeIpamController::~NodeIpamController() = default;

void NodeIpamController::setup(ControllerManager& manager, WorkQueue& queue) {
  nodeInformer_ = &manager.informer(*nodes_);
  auto enqueue = [&queue](const CachedObject& node) { queue.add(objectKey(*node)); };
  nodeInformer_->addHandlers({enqueue,
                              [enqueue](const CachedObject&, const CachedObject& node) {
                                if (podCidrOf(*node).empty()) enqueue(node);
                              },
                              enqueue});
}

std::optional<std::string> NodeIpamController::freeSubnet() {
  const auto cluster = parseCidr(options_.clusterCidr);
  if (!cluster || options_.nodeMaskSize < cluster->bits || options_.nodeMaskSize > 30) {
    return std::nullopt;
  }
  std::set<std::string> taken;
  for (const auto& node : nodeInformer_->list()) taken.insert(podCidrOf(*node));
  for (const auto& [name, subnet] : allocated_) taken.insert(subnet);
  const uint32_t count = uint32_t{1} << (options_.nodeMaskSize - cluster->bits);
  const uint32_t step = uint32_t{1} << (32 - options_.nodeMaskSize);
  for (uint32_t i = 0; i < count; ++i) {
    const std::string candidate = formatCidr(cluster->base + i * step, options_.nodeMaskSize);
    if (!taken.count(candidate)) return candidate;
  }
  return std::nullopt;
}

Status NodeIpamController::sync(const std::string& key) {
  std::lock_guard lock(mu_);
  auto got = objects_.get(*nodes_, "", key);
  if (!got.ok()) {
    if (got.status().code() != 404) return got.status();
    allocated_.erase(key);
    return {};
  }
  const json node = (*got)->parse();
  if (const std::string existing = podCidrOf(node); !existing.empty()) {
    allocated_[key] = existing;
    return {};
  }
  const auto subnet = freeSubnet();
  if (!subnet) {
    recorder_.record(node, "Normal", "CIDRNotAvailable",
                     "Node " + key + " status is now: CIDRNotAvailable");
    return Status::serviceUnavailable("no pod CIDR left in " + options_.clusterCidr);
  }
  // The resourceVersion makes the write fail if the node changed since it was read.
  const json patch = {
      {"metadata", {{"resourceVersion", node["metadata"].value("resourceVersion", "")}}},
      {"spec", {{"podCIDR", *subnet}, {"podCIDRs", json::array({*subnet})}}}};
  auto r = objects_.patch(*nodes_, "", key, api::PatchType::Merge, patch, {});
  if (!r.ok()) return r.status().code() == 404 ? Status{} : r.status();
  allocated_[key] = *subnet;
  return {};
}

}  // namespace kd::controllers
