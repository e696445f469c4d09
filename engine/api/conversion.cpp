#include "engine/api/conversion.h"

#include <string>
#include <string_view>
#include <vector>

namespace kd::api {
namespace {

// The value at a dotted path ("target.averageValue"), or nullptr when any step is missing,
// null or not an object. Never throws, whatever `obj` holds.
const json* at(const json& obj, std::string_view path) {
  const json* cur = &obj;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end() || it->is_null()) return nullptr;
    cur = &*it;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return cur;
}

// Sets the value at a dotted path, making the objects on the way.
void put(json& obj, std::string_view path, const json& value) {
  json* cur = &obj;
  for (size_t dot; (dot = path.find('.')) != std::string_view::npos; path = path.substr(dot + 1)) {
    json& next = (*cur)[std::string(path.substr(0, dot))];
    if (!next.is_object()) next = json::object();
    cur = &next;
  }
  (*cur)[std::string(path)] = value;
}

void copyField(const json& in, std::string_view from, json& out, std::string_view to) {
  if (const json* v = at(in, from)) put(out, to, *v);
}

const json& arrayAt(const json& obj, std::string_view path) {
  static const json empty = json::array();
  const json* v = at(obj, path);
  return v && v->is_array() ? *v : empty;
}

// ---- metrics: autoscaling/v1's annotation shape (v2beta1 style) ⇄ autoscaling/v2 ----

struct FieldMap {
  const char* v1;
  const char* v2;
};

// One metric source type: where each field of the v1 shape lives in the v2 shape, and how the
// v2 target's `type` follows from the fields set (Kubernetes' Convert_v1_*MetricSource_To_*).
struct MetricMap {
  const char* type;    // "Resource"
  const char* member;  // "resource"
  std::vector<FieldMap> spec, status;
  const char* typedField;  // v2 target field that, when set, makes the target `typedAs`
  const char* typedAs;
  const char* otherwise;  // the target type when `typedField` is not set
};

const std::vector<MetricMap>& metricMaps() {
  static const std::vector<FieldMap> resourceSpec = {
      {"name", "name"},
      {"targetAverageUtilization", "target.averageUtilization"},
      {"targetAverageValue", "target.averageValue"}};
  static const std::vector<FieldMap> resourceStatus = {
      {"name", "name"},
      {"currentAverageUtilization", "current.averageUtilization"},
      {"currentAverageValue", "current.averageValue"}};
  auto withContainer = [](std::vector<FieldMap> fields) {
    fields.push_back({"container", "container"});
    return fields;
  };
  static const std::vector<MetricMap> maps = {
      {"Resource", "resource", resourceSpec, resourceStatus, "averageUtilization", "Utilization",
       "AverageValue"},
      {"ContainerResource", "containerResource", withContainer(resourceSpec),
       withContainer(resourceStatus), "averageUtilization", "Utilization", "AverageValue"},
      {"Pods",
       "pods",
       {{"metricName", "metric.name"},
        {"selector", "metric.selector"},
        {"targetAverageValue", "target.averageValue"}},
       {{"metricName", "metric.name"},
        {"selector", "metric.selector"},
        {"currentAverageValue", "current.averageValue"}},
       "averageValue",
       "AverageValue",
       "AverageValue"},
      {"Object",
       "object",
       {{"target", "describedObject"},
        {"metricName", "metric.name"},
        {"selector", "metric.selector"},
        {"targetValue", "target.value"},
        {"averageValue", "target.averageValue"}},
       {{"target", "describedObject"},
        {"metricName", "metric.name"},
        {"selector", "metric.selector"},
        {"currentValue", "current.value"},
        {"averageValue", "current.averageValue"}},
       "averageValue",
       "AverageValue",
       "Value"},
      {"External",
       "external",
       {{"metricName", "metric.name"},
        {"metricSelector", "metric.selector"},
        {"targetValue", "target.value"},
        {"targetAverageValue", "target.averageValue"}},
       {{"metricName", "metric.name"},
        {"metricSelector", "metric.selector"},
        {"currentValue", "current.value"},
        {"currentAverageValue", "current.averageValue"}},
       "value",
       "Value",
       "AverageValue"},
  };
  return maps;
}

const MetricMap* metricMap(const json& metric) {
  const json* type = at(metric, "type");
  if (!type || !type->is_string()) return nullptr;
  for (const auto& m : metricMaps()) {
    if (*type == m.type) return &m;
  }
  return nullptr;
}

enum class Direction { ToV1, ToV2 };

// One MetricSpec (isStatus false) or MetricStatus between the v1 annotation shape and v2.
// A metric of an unknown type keeps only its type.
json convertMetric(const json& in, bool isStatus, Direction dir) {
  const json* type = at(in, "type");
  json out = {{"type", type ? *type : json()}};
  const MetricMap* m = metricMap(in);
  if (!m) return out;
  const json* source = at(in, m->member);
  if (!source) return out;
  json converted = json::object();
  for (const auto& f : isStatus ? m->status : m->spec) {
    if (dir == Direction::ToV1) copyField(*source, f.v2, converted, f.v1);
    if (dir == Direction::ToV2) copyField(*source, f.v1, converted, f.v2);
  }
  if (dir == Direction::ToV2 && !isStatus) {
    const bool typed = at(converted, std::string("target.") + m->typedField) != nullptr;
    put(converted, "target.type", typed ? m->typedAs : m->otherwise);
  }
  out[m->member] = std::move(converted);
  return out;
}

json convertMetrics(const json& list, bool isStatus, Direction dir) {
  json out = json::array();
  for (const auto& metric : list) out.push_back(convertMetric(metric, isStatus, dir));
  return out;
}

bool isCpuResource(const json& metric) {
  const json* type = at(metric, "type");
  const json* name = at(metric, "resource.name");
  return type && *type == "Resource" && name && *name == "cpu";
}

// The utilization a v2 Resource cpu metric holds in `field` ("target" or "current"), if any.
const json* cpuUtilization(const json& metric, std::string_view field) {
  if (!isCpuResource(metric)) return nullptr;
  return at(metric, "resource." + std::string(field) + ".averageUtilization");
}

json cpuMetric(std::string_view field, const json& utilization) {
  json resource = {{"name", "cpu"}};
  put(resource, std::string(field) + ".averageUtilization", utilization);
  if (field == "target") resource["target"]["type"] = "Utilization";
  return {{"type", "Resource"}, {"resource", std::move(resource)}};
}

constexpr const char* kRoundTripAnnotations[] = {kHpaMetricsAnnotation,
                                                 kHpaCurrentMetricsAnnotation,
                                                 kHpaBehaviorAnnotation, kHpaConditionsAnnotation};

// metadata without the round-trip annotations (and without an annotations map left empty).
json metadataWithoutRoundTrip(const json& object) {
  const json* found = at(object, "metadata");
  if (!found || !found->is_object()) return json::object();
  json meta = *found;
  auto annotations = meta.find("annotations");
  if (annotations == meta.end() || !annotations->is_object()) return meta;
  for (const char* key : kRoundTripAnnotations) annotations->erase(key);
  if (annotations->empty()) meta.erase("annotations");
  return meta;
}

void annotate(json& object, const char* key, const json& value) {
  object["metadata"]["annotations"][key] = value.dump();
}

// The JSON an annotation holds, or null when it is absent or does not parse (Kubernetes ignores
// such an annotation too).
json annotationJson(const json& object, const char* key) {
  const json* annotations = at(object, "metadata.annotations");
  if (!annotations || !annotations->is_object()) return nullptr;
  auto text = annotations->find(key);  // not at(): annotation keys hold dots
  if (text == annotations->end() || !text->is_string()) return nullptr;
  json parsed = json::parse(text->get<std::string>(), nullptr, false);
  return parsed.is_discarded() ? json() : parsed;
}

class HpaV1Converter : public VersionConverter {
 public:
  json toServed(const json& v2) const override {
    json out = {{"apiVersion", "autoscaling/v1"},
                {"kind", "HorizontalPodAutoscaler"},
                {"metadata", metadataWithoutRoundTrip(v2)}};
    out["spec"] = specToV1(v2, out);
    out["status"] = statusToV1(v2, out);
    if (const json* behavior = at(v2, "spec.behavior")) {
      annotate(out, kHpaBehaviorAnnotation, *behavior);
    }
    return out;
  }

  Result<json> toStored(const json& v1) const override {
    if (!v1.is_object()) return Status::badRequest("the request body must be a JSON object");
    json out = {{"apiVersion", "autoscaling/v2"}, {"kind", "HorizontalPodAutoscaler"}};
    if (v1.contains("metadata")) {
      // Metadata that is not an object is left for the write to refuse, with its own message.
      out["metadata"] = v1["metadata"].is_object() ? metadataWithoutRoundTrip(v1) : v1["metadata"];
    }
    out["spec"] = specToV2(v1);
    if (at(v1, "status")) out["status"] = statusToV2(v1);
    return out;
  }

 private:
  static json specToV1(const json& v2, json& out) {
    json spec = {{"maxReplicas", 0}};
    for (const char* f : {"scaleTargetRef", "minReplicas", "maxReplicas"}) {
      copyField(v2, std::string("spec.") + f, spec, f);
    }
    json others = json::array();
    bool cpuSeen = false;
    for (const auto& metric : arrayAt(v2, "spec.metrics")) {
      const json* cpu = cpuUtilization(metric, "target");
      if (!cpu) others.push_back(convertMetric(metric, false, Direction::ToV1));
      // As Kubernetes: the first cpu Resource metric gives the v1 target.
      if (!cpuSeen && isCpuResource(metric)) {
        cpuSeen = true;
        if (cpu) spec["targetCPUUtilizationPercentage"] = *cpu;
      }
    }
    if (!others.empty()) annotate(out, kHpaMetricsAnnotation, others);
    return spec;
  }

  static json statusToV1(const json& v2, json& out) {
    json status = {{"currentReplicas", 0}, {"desiredReplicas", 0}};
    for (const char* f :
         {"observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"}) {
      copyField(v2, std::string("status.") + f, status, f);
    }
    const json& current = arrayAt(v2, "status.currentMetrics");
    for (const auto& metric : current) {
      if (const json* cpu = cpuUtilization(metric, "current")) {
        status["currentCPUUtilizationPercentage"] = *cpu;
      }
    }
    // All current metrics go to the annotation, the cpu one too: it keeps the raw value.
    if (!current.empty()) {
      annotate(out, kHpaCurrentMetricsAnnotation, convertMetrics(current, true, Direction::ToV1));
    }
    const json& conditions = arrayAt(v2, "status.conditions");
    if (!conditions.empty()) annotate(out, kHpaConditionsAnnotation, conditions);
    return status;
  }

  static json specToV2(const json& v1) {
    json spec = json::object();
    for (const char* f : {"scaleTargetRef", "minReplicas", "maxReplicas"}) {
      copyField(v1, std::string("spec.") + f, spec, f);
    }
    json metrics = json::array();
    if (json others = annotationJson(v1, kHpaMetricsAnnotation); others.is_array()) {
      metrics = convertMetrics(others, false, Direction::ToV2);
    }
    if (const json* cpu = at(v1, "spec.targetCPUUtilizationPercentage")) {
      metrics.push_back(cpuMetric("target", *cpu));
    }
    // autoscaling/v1's implicit default, made explicit (as Kubernetes does here).
    if (metrics.empty()) metrics.push_back(cpuMetric("target", 80));
    spec["metrics"] = std::move(metrics);
    json behavior = annotationJson(v1, kHpaBehaviorAnnotation);
    if (behavior.is_object() && !behavior.empty()) spec["behavior"] = std::move(behavior);
    return spec;
  }

  static json statusToV2(const json& v1) {
    json status = json::object();
    for (const char* f :
         {"observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"}) {
      copyField(v1, std::string("status.") + f, status, f);
    }
    if (const json* cpu = at(v1, "status.currentCPUUtilizationPercentage")) {
      status["currentMetrics"] = json::array({cpuMetric("current", *cpu)});
    }
    // The annotation has more than the v1 field (every metric, raw values): it wins.
    if (json current = annotationJson(v1, kHpaCurrentMetricsAnnotation); current.is_array()) {
      status["currentMetrics"] = convertMetrics(current, true, Direction::ToV2);
    }
    if (json conditions = annotationJson(v1, kHpaConditionsAnnotation); conditions.is_array()) {
      status["conditions"] = std::move(conditions);
    }
    return status;
  }
};

}  // namespace

const VersionConverter& hpaV1Converter() {
  static const HpaV1Converter converter;
  return converter;
}

}  // namespace kd::api
