#include "engine/scheduler/resources.h"

#include "engine/api/quantity.h"

namespace kd::scheduler {
namespace {

constexpr int64_t kDefaultMilliCpu = 100;
constexpr int64_t kDefaultMemory = 200 * 1024 * 1024;

ResourceList containerRequests(const json& container, bool nonZero) {
  const json& requests = objectField(objectField(container, "resources"), "requests");
  ResourceList r = parseResourceList(requests);
  if (nonZero) {
    if (!requests.contains("cpu")) r.milliCpu = kDefaultMilliCpu;
    if (!requests.contains("memory")) r.memory = kDefaultMemory;
  }
  return r;
}

ResourceList requests(const json& spec, bool nonZero) {
  ResourceList sum;
  for (const auto& c : arrayField(spec, "containers")) {
    sum.add(containerRequests(c, nonZero));
  }
  for (const auto& c : arrayField(spec, "initContainers")) {
    // A restartable init container (sidecar) keeps running beside the containers.
    if (c.value("restartPolicy", "") == "Always") {
      sum.add(containerRequests(c, nonZero));
    } else {
      sum.setMax(containerRequests(c, nonZero));
    }
  }
  sum.add(parseResourceList(objectField(spec, "overhead")));
  return sum;
}

}  // namespace

const json& objectField(const json& obj, const char* name) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(name);
  return it == obj.end() || !it->is_object() ? kEmpty : *it;
}

const json& arrayField(const json& obj, const char* name) {
  static const json kEmpty = json::array();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(name);
  return it == obj.end() || !it->is_array() ? kEmpty : *it;
}

void ResourceList::add(const ResourceList& o) {
  milliCpu += o.milliCpu;
  memory += o.memory;
  ephemeralStorage += o.ephemeralStorage;
  for (const auto& [name, v] : o.scalar) scalar[name] += v;
}

void ResourceList::subtract(const ResourceList& o) {
  milliCpu -= o.milliCpu;
  memory -= o.memory;
  ephemeralStorage -= o.ephemeralStorage;
  for (const auto& [name, v] : o.scalar) scalar[name] -= v;
}

void ResourceList::setMax(const ResourceList& o) {
  milliCpu = std::max(milliCpu, o.milliCpu);
  memory = std::max(memory, o.memory);
  ephemeralStorage = std::max(ephemeralStorage, o.ephemeralStorage);
  for (const auto& [name, v] : o.scalar) scalar[name] = std::max(scalar[name], v);
}

ResourceList parseResourceList(const json& list) {
  ResourceList r;
  if (!list.is_object()) return r;
  for (const auto& [name, value] : list.items()) {
    auto q = api::Quantity::fromJson(value);
    if (!q.ok() || name == "pods") continue;
    if (name == "cpu") {
      r.milliCpu = q->milliValue();
    } else if (name == "memory") {
      r.memory = q->value();
    } else if (name == "ephemeral-storage") {
      r.ephemeralStorage = q->value();
    } else {
      r.scalar[name] = q->value();
    }
  }
  return r;
}

ResourceList podRequests(const json& podSpec) {
  return requests(podSpec, false);
}

ResourceList podNonZeroRequests(const json& podSpec) {
  return requests(podSpec, true);
}

}  // namespace kd::scheduler
