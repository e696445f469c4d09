#include "engine/server/object_service.h"

#include <algorithm>
#include <ctime>
#include <mutex>
#include <random>
#include <set>

#include "engine/api/base64.h"
#include "engine/api/defaulting.h"
#include "engine/api/object_key.h"

namespace kd::server {
namespace {

using api::KindInfo;
using store::ObjectPtr;

constexpr int kMaxUpdateRetries = 8;
// A generated name that is taken is drawn again this many times, as Kubernetes 1.32 does
// (RetryGenerateName): five characters of 27 collide once in ~5,000 names without retries.
constexpr int kGenerateNameRetries = 7;

std::string randomSuffix(size_t n) {
  // The alphabet Kubernetes uses for generated names: no vowels, no confusable digits.
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kAlphabet[rng() % (sizeof(kAlphabet) - 1)]);
  return s;
}

std::string newUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// Kinds whose metadata.generation tracks spec changes (what their strategies do in Kubernetes).
bool tracksGeneration(const KindInfo& k) {
  return k.group == "apps" || k.group == "batch" || k.group == "autoscaling" ||
         k.resource == "persistentvolumeclaims" || k.resource == "persistentvolumes";
}

bool hasStatusSubresource(const KindInfo& k) {
  return k.hasSubresource("status");
}

Status alreadyExistsStatus(const KindInfo& kind, const std::string& name) {
  return Status::alreadyExists(kind.qualifiedResource() + " \"" + name + "\" already exists")
      .withDetails(name, kind.group, kind.resource);
}

Status checkTarget(std::string_view podName, const std::string& node) {
  if (!node.empty()) return {};
  return Status::invalid(
      "Binding \"" + std::string(podName) + "\" is invalid: target.name: Required value",
      {{"FieldValueRequired", "Required value", "target.name"}});
}

// The pod with spec.nodeName set and PodScheduled=True (as Kubernetes' binding storage sets
// it, replacing a False one the scheduler wrote; an existing True one stays as it is), or why
// pods/binding refuses: already bound or being deleted.
Result<json> boundTo(const json& current, std::string_view podName, const std::string& node,
                     const std::string& now) {
  // Read in place: json::value() would copy the whole spec and metadata per bind.
  const std::string_view bound = api::stringAt(current, "spec", "nodeName");
  if (!bound.empty()) {
    return Status::conflict("Operation cannot be fulfilled on pods/binding \"" +
                            std::string(podName) + "\": pod " + std::string(podName) +
                            " is already assigned to node \"" + std::string(bound) + "\"");
  }
  if (api::metadataOf(current).contains("deletionTimestamp")) {
    return Status::conflict("pod " + std::string(podName) +
                            " is being deleted, cannot be "
                            "assigned to a host");
  }
  json updated = current;
  updated["spec"]["nodeName"] = node;
  json& status = updated["status"];
  if (!status.is_object()) status = json::object();
  json& conditions = status["conditions"];
  if (!conditions.is_array()) conditions = json::array();
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [](const json& c) { return c.value("type", "") == "PodScheduled"; });
  if (it != conditions.end() && it->value("status", "") == "True") return updated;
  json scheduled = {{"type", "PodScheduled"},
                    {"status", "True"},
                    {"lastProbeTime", nullptr},
                    {"lastTransitionTime", now}};
  if (it == conditions.end()) {
    conditions.push_back(std::move(scheduled));
  } else {
    *it = std::move(scheduled);
  }
  return updated;
}

json withoutVolatileMetadata(json o) {
  if (o.contains("metadata") && o["metadata"].is_object()) {
    o["metadata"].erase("resourceVersion");
    o["metadata"].erase("managedFields");
  }
  return o;
}

// Compiled label and field selectors, applied to stored objects without parsing them when the
// store's field index already holds the value.
class Selection {
 public:
  static Result<Selection> compile(const KindInfo& kind, std::string_view labels,
                                   std::string_view fields) {
    Selection s;
    auto l = api::LabelSelector::parse(labels);
    if (!l.ok()) return l.status();
    s.labels_ = std::move(l).value();
    auto f = api::FieldSelector::parse(fields, kind);
    if (!f.ok()) return f.status();
    s.fields_ = std::move(f).value();
    return s;
  }

  bool everything() const { return labels_.empty() && fields_.empty(); }

  bool matches(const store::StoredObject& o) const {
    if (!labels_.empty() && !labels_.matches(o.labels)) return false;
    if (fields_.empty()) return true;
    std::optional<json> parsed;
    for (const auto& r : fields_.requirements()) {
      std::string value;
      if (auto it = o.fields.find(r.field); it != o.fields.end()) {
        value = it->second;
      } else {
        if (!parsed) parsed = o.parse();
        value = api::FieldSelector::fieldValue(*parsed, r.field);
      }
      if ((value == r.value) != r.equals) return false;
    }
    return true;
  }

  // A name given in the field selector narrows the store key.
  std::string singleName() const {
    for (const auto& r : fields_.requirements()) {
      if (r.field == "metadata.name" && r.equals) return r.value;
    }
    return "";
  }

 private:
  api::LabelSelector labels_;
  api::FieldSelector fields_;
};

class SelectingWatchStream : public WatchStream {
 public:
  SelectingWatchStream(store::SqliteStore& store, Selection selection, std::string exactKey)
      : store_(store), selection_(std::move(selection)), exactKey_(std::move(exactKey)) {}
  ~SelectingWatchStream() override {
    if (watch_) store_.stopWatch(watch_);
  }

  void start(std::shared_ptr<store::Watch> w, std::vector<WatchEvent> initial, int64_t rev) {
    watch_ = std::move(w);
    pending_ = std::move(initial);
    last_ = rev;
  }

  bool next(std::vector<WatchEvent>& out) override {
    if (!pending_.empty()) {
      for (auto& e : pending_) out.push_back(std::move(e));
      pending_.clear();
    }
    bool open = watch_->take(raw_);
    out.reserve(out.size() + raw_.size());
    for (auto& e : raw_) {
      last_ = e.revision;
      if (!exactKey_.empty() && e.object->key != exactKey_) continue;
      const bool now = selection_.matches(*e.object);
      const bool before = e.previous ? selection_.matches(*e.previous) : now;
      const char* type = nullptr;
      switch (e.type) {
        case store::EventType::Added:
          if (now) type = "ADDED";
          break;
        case store::EventType::Modified:
          if (now && before)
            type = "MODIFIED";
          else if (now)
            type = "ADDED";
          else if (before)
            type = "DELETED";
          break;
        case store::EventType::Deleted:
          if (now || before) type = "DELETED";
          break;
      }
      if (type) out.push_back(WatchEvent{type, e.object, e.revision, {}, std::move(e.parsed)});
    }
    raw_.clear();  // the batch's objects are not kept alive until the next call
    return open;
  }

  int64_t lastRevision() const override { return last_; }

 private:
  store::SqliteStore& store_;
  Selection selection_;
  std::string exactKey_;
  std::shared_ptr<store::Watch> watch_;
  std::vector<WatchEvent> pending_;
  std::vector<store::Event> raw_;  // next()'s batch from the store; its capacity is reused
  int64_t last_ = 0;
};

Result<int64_t> parseRevision(const json& metadata) {
  if (!metadata.is_object() || !metadata.contains("resourceVersion")) return int64_t{0};
  const json& rv = metadata["resourceVersion"];
  if (!rv.is_string()) return Status::badRequest("metadata.resourceVersion must be a string");
  const std::string& s = rv.get_ref<const std::string&>();
  if (s.empty()) return int64_t{0};
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used == s.size() && v > 0) return int64_t{v};
  } catch (const std::exception&) {
  }
  return Status::badRequest("invalid resourceVersion \"" + s +
                            "\": not a resource version "
                            "this server issued");
}

}  // namespace

std::string formatTime(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parseTime(std::string_view s) {
  std::tm tm{};
  std::string str(s);
  const char* end = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

ObjectService::ObjectService(store::SqliteStore& store, const api::KindsRegistry& kinds,
                             const api::SchemaRegistry& schemas, Clock clock)
    : store_(store),
      kinds_(kinds),
      schemas_(schemas),
      clock_(std::move(clock)),
      strategies_(store) {}

std::string ObjectService::prefixFor(const KindInfo& kind, std::string_view ns) {
  std::string p = kind.group.empty() ? "core" : kind.group;
  p += "/" + kind.resource + "/";
  if (kind.namespaced && !ns.empty()) {
    p += ns;
    p += "/";
  }
  return p;
}

std::string ObjectService::keyFor(const KindInfo& kind, std::string_view ns,
                                  std::string_view name) {
  std::string k = kind.group.empty() ? "core" : kind.group;
  k += "/" + kind.resource + "/";
  if (kind.namespaced) k += ns;
  k += "/";
  k += name;
  return k;
}

Status ObjectService::notFound(const KindInfo& kind, std::string_view name) const {
  return Status::notFound(kind.qualifiedResource() + " \"" + std::string(name) + "\" not found")
      .withDetails(std::string(name), kind.group, kind.resource);
}

Status ObjectService::checkNamespace(const KindInfo& kind, std::string_view ns,
                                     bool creating) const {
  if (!kind.namespaced) {
    if (!ns.empty()) {
      return Status::notFound("the server could not find the requested resource: " + kind.resource +
                              " is not namespaced");
    }
    return {};
  }
  if (ns.empty()) return Status::badRequest("a namespace is required for " + kind.resource);
  if (!creating) return {};
  const KindInfo* nsKind = kinds_.byResource("", "v1", "namespaces");
  auto nsObj = store_.get(keyFor(*nsKind, "", ns));
  if (!nsObj.ok()) {
    return Status::notFound("namespaces \"" + std::string(ns) + "\" not found")
        .withDetails(std::string(ns), "", "namespaces");
  }
  if ((*nsObj)->json.find("\"deletionTimestamp\"") != std::string::npos) {
    return Status::forbidden(kind.resource +
                             " \"\" is forbidden: unable to create new content "
                             "in namespace " +
                             std::string(ns) + " because it is being terminated");
  }
  return {};
}

Status ObjectService::admit(const KindInfo& kind, json& object, const json* old,
                            const WriteOptions& options, std::vector<std::string>& warnings) const {
  if (!options.engineBuilt) {
    Status st =
        api::validateAgainstSchema(kind, object, options.fieldValidation, schemas_, &warnings);
    if (!st.isOk()) return st;
  }
  api::applyDefaults(kind, object);
  return api::validateObject(kind, object, old);
}

Result<ObjectPtr> ObjectService::get(const KindInfo& kind, std::string_view ns,
                                     std::string_view name) const {
  if (Status st = checkNamespace(kind, ns, false); !st.isOk()) return st;
  auto obj = store_.get(keyFor(kind, ns, name));
  if (!obj.ok()) return notFound(kind, name);
  return obj;
}

Result<ListResult> ObjectService::list(const KindInfo& kind, std::string_view ns,
                                       const ListOptions& options) const {
  auto selection = Selection::compile(kind, options.labelSelector, options.fieldSelector);
  if (!selection.ok()) return selection.status();
  std::string after;
  if (!options.continueToken.empty()) {
    auto decoded = api::base64Decode(options.continueToken);
    json token = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (!token.is_object() || !token.contains("start") || !token["start"].is_string()) {
      return Status::badRequest(
          "continue key is not valid: the token was not issued by this "
          "server; restart the list without it");
    }
    after = token["start"].get<std::string>();
  }
  const std::string prefix = prefixFor(kind, ns);
  store::ObjectFilter filter;
  if (!selection->everything()) {
    filter = [&sel = *selection](const store::StoredObject& o) { return sel.matches(o); };
  }
  store::ListPage page = store_.list(prefix, filter, options.limit, after);
  ListResult result;
  result.items = std::move(page.items);
  result.revision = page.revision;
  if (!page.nextKey.empty()) {
    json token = {{"v", "meta.k8s.io/v1"}, {"rv", page.revision}, {"start", page.nextKey}};
    result.continueToken = api::base64Encode(token.dump());
  }
  return result;
}

Status checkTypeMeta(const api::KindInfo& kind, const json& body) {
  if (body.contains("apiVersion") && body["apiVersion"] != kind.apiVersion()) {
    return Status::badRequest("the API version in the data (" + body["apiVersion"].dump() +
                              ") does not match the expected API version (" + kind.apiVersion() +
                              ")");
  }
  if (body.contains("kind") && body["kind"] != kind.kind) {
    return Status::badRequest("the kind in the data (" + body["kind"].dump() +
                              ") does not match the expected kind (" + kind.kind + ")");
  }
  return {};
}

Status ObjectService::prepareCreate(const KindInfo& kind, std::string_view ns, json& body,
                                    const WriteOptions& options, std::vector<std::string>& warnings,
                                    const std::unordered_set<std::string>* batchKeys) {
  if (options.subresource == "binding") return Status::methodNotAllowed("use bind()");
  if (!body.is_object()) return Status::badRequest("the request body must be a JSON object");
  if (Status st = checkNamespace(kind, ns, true); !st.isOk()) return st;
  if (Status st = checkTypeMeta(kind, body); !st.isOk()) return st;
  body["apiVersion"] = kind.apiVersion();
  body["kind"] = kind.kind;
  if (!body.contains("metadata") || body["metadata"].is_null()) body["metadata"] = json::object();
  json& meta = body["metadata"];
  if (!meta.is_object()) return Status::badRequest("metadata must be an object");
  if (kind.namespaced) {
    if (meta.contains("namespace") && meta["namespace"].is_string() &&
        !meta["namespace"].get<std::string>().empty() && meta["namespace"] != ns) {
      return Status::badRequest(
          "the namespace of the provided object does not match the "
          "namespace sent on the request");
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (meta.contains("resourceVersion") && meta["resourceVersion"] != "") {
    return Status::badRequest("resourceVersion should not be set on objects to be created");
  }
  if ((!meta.contains("name") || meta["name"] == "") && meta.contains("generateName") &&
      meta["generateName"].is_string()) {
    const std::string prefix = meta["generateName"].get<std::string>();
    const auto taken = [&](const std::string& name) {
      const std::string key = keyFor(kind, ns, name);
      return (batchKeys && batchKeys->contains(key)) || store_.get(key).ok();
    };
    std::string name = prefix + randomSuffix(5);
    for (int retry = 0; retry < kGenerateNameRetries && taken(name); ++retry) {
      name = prefix + randomSuffix(5);
    }
    meta["name"] = std::move(name);
  }

  meta["uid"] = newUid();
  meta["creationTimestamp"] = formatTime(clock_());
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta.erase("resourceVersion");
  meta.erase("selfLink");
  if (tracksGeneration(kind)) meta["generation"] = 1;
  // Status is the controllers' to write; a new object starts without one (pods get theirs
  // from the strategy below).
  if (hasStatusSubresource(kind) && kind.resource != "nodes") body["status"] = json::object();
  if (Status st = strategies_.prepareForCreate(kind, body); !st.isOk()) return st;
  return admit(kind, body, nullptr, options, warnings);
}

Result<WriteResult> ObjectService::create(const KindInfo& kind, std::string_view ns, json body,
                                          const WriteOptions& options) {
  WriteResult result;
  if (Status st = prepareCreate(kind, ns, body, options, result.warnings); !st.isOk()) return st;
  const std::string name = body["metadata"]["name"].get<std::string>();
  auto alreadyExists = [&] { return alreadyExistsStatus(kind, name); };
  result.created = true;
  if (options.dryRun) {
    // A dry run answers as the write would, so an existing object is a 409 here too.
    if (store_.get(keyFor(kind, ns, name)).ok()) return alreadyExists();
    result.object = std::move(body);
    return result;
  }
  auto stored = store_.create(keyFor(kind, ns, name), body);
  if (!stored.ok()) {
    if (stored.status().reason() == "AlreadyExists") return alreadyExists();
    return stored.status();
  }
  body["metadata"]["resourceVersion"] = std::to_string((*stored)->revision);
  result.object = std::move(body);
  return result;
}

Result<WriteResult> ObjectService::update(const KindInfo& kind, std::string_view ns,
                                          std::string_view name, json body,
                                          const WriteOptions& options) {
  if (!body.is_object()) return Status::badRequest("the request body must be a JSON object");
  const json bodyName = body.contains("metadata") && body["metadata"].is_object()
                            ? body["metadata"].value("name", json())
                            : json();
  if (bodyName != json(std::string(name))) {
    return Status::badRequest("the name of the object (" +
                              (bodyName.is_string() ? bodyName.get<std::string>() : "") +
                              ") does not match the name on the URL (" + std::string(name) + ")");
  }
  auto rv = parseRevision(body["metadata"]);
  if (!rv.ok()) return rv.status();
  return updateWithRetry(
      kind, ns, name, options,
      [&](const json& current) -> Result<json> {
        if (options.subresource != "scale") return body;
        json updated = current;
        updated["spec"]["replicas"] = body.value("spec", json::object()).value("replicas", 0);
        return updated;
      },
      *rv != 0);
}

Result<WriteResult> ObjectService::patch(const KindInfo& kind, std::string_view ns,
                                         std::string_view name, api::PatchType type,
                                         const json& patchDoc, const WriteOptions& options) {
  const bool precondition = patchDoc.is_object() && patchDoc.contains("metadata") &&
                            patchDoc["metadata"].is_object() &&
                            patchDoc["metadata"].contains("resourceVersion");
  return updateWithRetry(
      kind, ns, name, options,
      [&](const json& current) -> Result<json> {
        if (options.subresource == "scale") {
          auto scale = getScale(kind, ns, name);
          if (!scale.ok()) return scale.status();
          auto patched = api::applyPatch(type, *scale, patchDoc, schemas_, "");
          if (!patched.ok()) return patched.status();
          json updated = current;
          updated["spec"]["replicas"] = patched->value("spec", json::object()).value("replicas", 0);
          return updated;
        }
        return api::applyPatch(type, current, patchDoc, schemas_, kind.schemaType);
      },
      precondition);
}

Result<WriteResult> ObjectService::updateWithRetry(
    const KindInfo& kind, std::string_view ns, std::string_view name, const WriteOptions& options,
    const std::function<Result<json>(const json& current)>& mutate, bool bodyCarriesPrecondition) {
  if (Status st = checkNamespace(kind, ns, false); !st.isOk()) return st;
  const std::string key = keyFor(kind, ns, name);
  for (int attempt = 0;; ++attempt) {
    auto current = store_.get(key);
    if (!current.ok()) return notFound(kind, name);
    json currentJson = (*current)->parse();
    auto updated = mutate(currentJson);
    if (!updated.ok()) return updated.status();
    if (!updated->is_object()) return Status::badRequest("the result must be a JSON object");
    int64_t expected = (*current)->revision;
    if (bodyCarriesPrecondition && options.subresource != "scale") {
      auto rv = parseRevision(updated->value("metadata", json::object()));
      if (!rv.ok()) return rv.status();
      expected = *rv;
    }
    auto result =
        storeUpdate(kind, key, std::move(updated).value(), currentJson, expected, options);
    const bool retry = !result.ok() && result.status().reason() == "Conflict" &&
                       !bodyCarriesPrecondition && attempt < kMaxUpdateRetries;
    if (!retry) {
      if (result.ok() && options.subresource == "scale") {
        auto scale = getScale(kind, ns, name);
        if (!scale.ok()) return scale.status();
        result->object = std::move(scale).value();
      }
      return result;
    }
  }
}

Result<WriteResult> ObjectService::storeUpdate(const KindInfo& kind, const std::string& key,
                                               json updated, const json& current, int64_t revision,
                                               const WriteOptions& options) {
  const std::string name = current["metadata"].value("name", "");
  auto conflict = [&] {
    return Status::conflict("Operation cannot be fulfilled on " + kind.qualifiedResource() + " \"" +
                            name +
                            "\": the object has been modified; please apply your changes to the "
                            "latest version and try again")
        .withDetails(name, kind.group, kind.resource);
  };
  if (options.subresource == "status") {
    json next = current;
    if (updated.contains("status")) next["status"] = updated["status"];
    if (kind.resource == "pods" && kind.group.empty()) {
      // As kube-apiserver's pod status strategy: pods/status may change labels and annotations
      // too (agents publish probe results in an annotation, and may not write the pod itself).
      for (const char* field : {"labels", "annotations"}) {
        const json meta = updated.value("metadata", json::object());
        if (meta.contains(field)) {
          next["metadata"][field] = meta[field];
        } else {
          next["metadata"].erase(field);
        }
      }
    }
    updated = std::move(next);
  } else if (options.subresource == "binding") {
    // pods/binding sets spec.nodeName and PodScheduled=True only (boundTo); nothing else of
    // the pod changes, so the pod needs no admission again (the scheduler's hot path).
    json next = current;
    next["spec"]["nodeName"] = updated["spec"]["nodeName"];
    next["status"] = updated["status"];
    updated = std::move(next);
  } else if (options.subresource == "finalize") {
    // namespaces/finalize writes only spec.finalizers (what the namespace controller clears).
    json next = current;
    next["spec"]["finalizers"] =
        updated.value("spec", json::object()).value("finalizers", json::array());
    updated = std::move(next);
  } else if (hasStatusSubresource(kind)) {
    if (current.contains("status")) {
      updated["status"] = current["status"];
    } else {
      updated.erase("status");
    }
  }
  updated["apiVersion"] = kind.apiVersion();
  updated["kind"] = kind.kind;
  if (!updated.contains("metadata") || !updated["metadata"].is_object()) {
    updated["metadata"] = json::object();
  }
  json& meta = updated["metadata"];
  const json& oldMeta = current["metadata"];
  for (const char* f : {"name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generation"}) {
    if (oldMeta.contains(f)) {
      meta[f] = oldMeta[f];
    } else {
      meta.erase(f);
    }
  }

  WriteResult result;
  if (options.subresource != "binding") {
    if (Status st = strategies_.prepareForUpdate(kind, updated, current); !st.isOk()) return st;
    if (Status st = admit(kind, updated, &current, options, result.warnings); !st.isOk()) return st;
  }
  if (tracksGeneration(kind) && updated.value("spec", json()) != current.value("spec", json())) {
    meta["generation"] = oldMeta.value("generation", 0) + 1;
  }
  if (withoutVolatileMetadata(updated) == withoutVolatileMetadata(current)) {
    result.object = current;  // no change: no write, no new resourceVersion
    return result;
  }

  // Removing the last finalizer of an object marked for deletion completes the deletion.
  const bool marked = meta.contains("deletionTimestamp");
  const bool noFinalizers = !meta.contains("finalizers") || meta["finalizers"].empty();
  const bool graceDone = meta.value("deletionGracePeriodSeconds", 0) == 0;
  // A namespace also waits for its spec.finalizers (the namespace controller's "kubernetes").
  const bool specFinalizersDone =
      kind.resource != "namespaces" ||
      updated.value("spec", json::object()).value("finalizers", json::array()).empty();
  if (marked && noFinalizers && graceDone && specFinalizersDone) {
    if (options.dryRun) {
      result.object = std::move(updated);
      return result;
    }
    auto removed = store_.remove(key, revision);
    if (!removed.ok())
      return removed.status().reason() == "Conflict" ? conflict() : removed.status();
    result.object = std::move(updated);
    result.object["metadata"]["resourceVersion"] = std::to_string((*removed)->revision);
    return result;
  }
  if (options.dryRun) {
    result.object = std::move(updated);
    return result;
  }
  auto stored = store_.update(key, updated, revision);
  if (!stored.ok()) {
    if (stored.status().reason() == "Conflict") return conflict();
    if (stored.status().code() == 404) return notFound(kind, name);
    return stored.status();
  }
  updated["metadata"]["resourceVersion"] = std::to_string((*stored)->revision);
  result.object = std::move(updated);
  return result;
}

Result<DeleteResult> ObjectService::remove(const KindInfo& kind, std::string_view ns,
                                           std::string_view name, const DeleteOptions& options) {
  if (Status st = checkNamespace(kind, ns, false); !st.isOk()) return st;
  const std::string key = keyFor(kind, ns, name);
  for (int attempt = 0;; ++attempt) {
    auto current = store_.get(key);
    if (!current.ok()) return notFound(kind, name);
    json obj = (*current)->parse();
    json& meta = obj["metadata"];
    if (!options.preconditionUid.empty() && meta.value("uid", "") != options.preconditionUid) {
      return Status::conflict(
          "Precondition failed: UID in precondition: " + options.preconditionUid +
          ", UID in object meta: " + meta.value("uid", ""));
    }
    if (!options.preconditionResourceVersion.empty() &&
        meta.value("resourceVersion", "") != options.preconditionResourceVersion) {
      return Status::conflict(
          "Precondition failed: ResourceVersion in precondition: " +
          options.preconditionResourceVersion +
          ", ResourceVersion in object meta: " + meta.value("resourceVersion", ""));
    }

    // Decide between deleting now and marking for deletion.
    json finalizers = meta.value("finalizers", json::array());
    auto addFinalizer = [&](const char* f) {
      if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) {
        finalizers.push_back(f);
      }
    };
    if (options.propagationPolicy == "Foreground") addFinalizer("foregroundDeletion");
    if (options.propagationPolicy == "Orphan") addFinalizer("orphan");
    int64_t grace = 0;
    if (kind.resource == "pods") {
      const json& spec = obj.value("spec", json::object());
      grace = options.gracePeriodSeconds.value_or(spec.value("terminationGracePeriodSeconds", 30));
      const std::string node = spec.value("nodeName", "");
      const KindInfo* nodeKind = kinds_.byResource("", "v1", "nodes");
      const bool onLiveNode = !node.empty() && store_.get(keyFor(*nodeKind, "", node)).ok();
      const std::string phase = obj.value("status", json::object()).value("phase", "");
      // A pod no kubelet runs any more (unscheduled, node gone, finished) goes at once.
      if (!onLiveNode || phase == "Succeeded" || phase == "Failed") grace = 0;
    }
    if (kind.resource == "namespaces") {
      const json fins = obj.value("spec", json::object()).value("finalizers", json::array());
      if (!fins.empty()) {
        obj["status"]["phase"] = "Terminating";
        grace = 0;
        if (!meta.contains("deletionTimestamp")) {
          meta["deletionTimestamp"] = formatTime(clock_());
          meta["deletionGracePeriodSeconds"] = 0;
        }
        if (finalizers.empty())
          meta.erase("finalizers");
        else
          meta["finalizers"] = finalizers;
      }
    }

    const bool alreadyMarked = meta.contains("deletionTimestamp");
    const bool deleteNow =
        finalizers.empty() && grace == 0 && !(kind.resource == "namespaces" && alreadyMarked);
    DeleteResult result;
    if (deleteNow) {
      if (options.dryRun) {
        result.object = std::move(obj);
        result.deletedNow = true;
        return result;
      }
      auto removed = store_.remove(key, (*current)->revision);
      if (!removed.ok()) {
        if (removed.status().reason() == "Conflict" && attempt < kMaxUpdateRetries) continue;
        return removed.status();
      }
      result.object = (*removed)->parse();
      result.deletedNow = true;
      return result;
    }
    if (!finalizers.empty()) meta["finalizers"] = finalizers;
    // A pod's grace period may only shorten once it is marked.
    const bool shortens =
        kind.resource == "pods" && grace < meta.value("deletionGracePeriodSeconds", grace + 1);
    if (!alreadyMarked || shortens) {
      meta["deletionTimestamp"] = formatTime(clock_() + std::chrono::seconds(grace));
      meta["deletionGracePeriodSeconds"] = grace;
    }
    if (options.dryRun) {
      result.object = std::move(obj);
      return result;
    }
    auto stored = store_.update(key, obj, (*current)->revision);
    if (!stored.ok()) {
      if (stored.status().reason() == "Conflict" && attempt < kMaxUpdateRetries) continue;
      return stored.status();
    }
    result.object = (*stored)->parse();
    return result;
  }
}

Result<json> ObjectService::removeCollection(const KindInfo& kind, std::string_view ns,
                                             const ListOptions& selection,
                                             const DeleteOptions& options) {
  auto listed = list(kind, ns, selection);
  if (!listed.ok()) return listed.status();
  json items = json::array();
  for (const auto& item : listed->items) {
    json obj = item->parse();
    const json& meta = obj["metadata"];
    auto r = remove(kind, meta.value("namespace", ""), meta.value("name", ""), options);
    if (!r.ok() && r.status().code() != 404) return r.status();
    if (r.ok()) items.push_back(std::move(r->object));
  }
  return json{{"kind", kind.kind + "List"},
              {"apiVersion", kind.apiVersion()},
              {"metadata", {{"resourceVersion", std::to_string(store_.currentRevision())}}},
              {"items", std::move(items)}};
}

Result<json> ObjectService::bind(std::string_view ns, std::string_view podName,
                                 const json& binding) {
  const KindInfo* pods = kinds_.byResource("", "v1", "pods");
  const std::string node = binding.value("target", json::object()).value("name", "");
  if (Status st = checkTarget(podName, node); !st.isOk()) return st;
  WriteOptions options;
  options.subresource = "binding";
  auto r = updateWithRetry(
      *pods, ns, podName, options,
      [&](const json& current) { return boundTo(current, podName, node, formatTime(clock_())); },
      false);
  if (!r.ok()) return r.status();
  return Status::ok().toJson();
}

std::vector<Status> ObjectService::bindAll(const std::vector<PodBinding>& bindings) {
  const KindInfo* pods = kinds_.byResource("", "v1", "pods");
  std::vector<Status> results(bindings.size());
  std::vector<store::SqliteStore::BatchWrite> writes;
  std::vector<size_t> written;  // bindings[written[i]] is writes[i]
  const std::string now = formatTime(clock_());
  for (size_t i = 0; i < bindings.size(); ++i) {
    const PodBinding& b = bindings[i];
    if (Status st = checkTarget(b.name, b.node); !st.isOk()) {
      results[i] = st;
      continue;
    }
    if (Status st = checkNamespace(*pods, b.ns, false); !st.isOk()) {
      results[i] = st;
      continue;
    }
    const std::string key = keyFor(*pods, b.ns, b.name);
    auto current = store_.get(key);
    if (!current.ok()) {
      results[i] = notFound(*pods, b.name);
      continue;
    }
    const auto seenMeta = b.seen ? b.seen->find("metadata") : json::const_iterator();
    const bool seenIsCurrent =
        b.seen && seenMeta != b.seen->end() && seenMeta->is_object() &&
        seenMeta->value("resourceVersion", "") == std::to_string((*current)->revision);
    auto updated = boundTo(seenIsCurrent ? *b.seen : (*current)->parse(), b.name, b.node, now);
    if (!updated.ok()) {
      results[i] = updated.status();
      continue;
    }
    writes.push_back(
        {store::EventType::Modified, key, std::move(updated).value(), (*current)->revision});
    written.push_back(i);
  }
  auto stored = store_.writeAll(std::move(writes));
  for (size_t j = 0; j < stored.size(); ++j) {
    const size_t i = written[j];
    if (stored[j].ok()) continue;
    // Changed since it was read (a status or label write): bind() re-reads and retries.
    if (stored[j].status().reason() == "Conflict") {
      const PodBinding& b = bindings[i];
      const json binding = {{"target", {{"name", b.node}}}};
      auto r = bind(b.ns, b.name, binding);
      results[i] = r.ok() ? Status::ok() : r.status();
    } else {
      results[i] = stored[j].status();
    }
  }
  return results;
}

std::vector<Result<WriteResult>> ObjectService::createAll(const KindInfo& kind,
                                                          std::vector<NewObject> objects,
                                                          const WriteOptions& options) {
  std::vector<Result<WriteResult>> results;
  std::vector<store::SqliteStore::BatchWrite> writes;
  std::vector<size_t> written;
  // Two generated names of one batch can be the same as well (500 names: ~1 % of batches).
  std::unordered_set<std::string> batchKeys;
  for (auto& o : objects) {
    WriteResult result;
    if (Status st = prepareCreate(kind, o.ns, o.body, options, result.warnings, &batchKeys);
        !st.isOk()) {
      results.emplace_back(st);
      continue;
    }
    result.created = true;
    const std::string name = o.body["metadata"]["name"].get<std::string>();
    const std::string key = keyFor(kind, o.ns, name);
    batchKeys.insert(key);
    if (options.dryRun) {
      // As create(): a dry run answers as the write would, 409 for an existing object too.
      if (store_.get(key).ok()) {
        results.emplace_back(alreadyExistsStatus(kind, name));
        continue;
      }
    } else if (options.engineBuilt) {
      result.object = {{"metadata", o.body["metadata"]}};
      writes.push_back({store::EventType::Added, key, std::move(o.body), 0});
      written.push_back(results.size());
      results.emplace_back(std::move(result));
      continue;
    } else {
      writes.push_back({store::EventType::Added, key, o.body, 0});
      written.push_back(results.size());
    }
    result.object = std::move(o.body);
    results.emplace_back(std::move(result));
  }
  auto stored = store_.writeAll(std::move(writes));
  for (size_t j = 0; j < stored.size(); ++j) {
    Result<WriteResult>& r = results[written[j]];
    if (!stored[j].ok()) {
      const std::string name = r->object["metadata"]["name"].get<std::string>();
      r = stored[j].status().reason() == "AlreadyExists" ? alreadyExistsStatus(kind, name)
                                                         : stored[j].status();
      continue;
    }
    r->object["metadata"]["resourceVersion"] = std::to_string(stored[j].value()->revision);
  }
  return results;
}

Result<json> ObjectService::getScale(const KindInfo& kind, std::string_view ns,
                                     std::string_view name) const {
  auto obj = get(kind, ns, name);
  if (!obj.ok()) return obj.status();
  json o = (*obj)->parse();
  const json& meta = o["metadata"];
  json scale = {{"kind", "Scale"},
                {"apiVersion", "autoscaling/v1"},
                {"metadata",
                 {{"name", meta.value("name", "")},
                  {"namespace", meta.value("namespace", "")},
                  {"uid", meta.value("uid", "")},
                  {"resourceVersion", meta.value("resourceVersion", "")},
                  {"creationTimestamp", meta.value("creationTimestamp", "")}}},
                {"spec", {{"replicas", o.value("spec", json::object()).value("replicas", 0)}}},
                {"status", {{"replicas", o.value("status", json::object()).value("replicas", 0)}}}};
  const json selector = o.value("spec", json::object()).value("selector", json());
  if (selector.is_object()) {
    auto sel = api::LabelSelector::fromJson(selector);
    if (sel.ok()) scale["status"]["selector"] = sel->toString();
  }
  return scale;
}

Result<std::unique_ptr<WatchStream>> ObjectService::watch(const KindInfo& kind, std::string_view ns,
                                                          const WatchOptions& options,
                                                          std::function<void()> notify) {
  // An empty namespace watches a namespaced resource across all namespaces.
  if (!ns.empty() || !kind.namespaced) {
    if (Status st = checkNamespace(kind, ns, false); !st.isOk()) return st;
  }
  auto selection = Selection::compile(kind, options.labelSelector, options.fieldSelector);
  if (!selection.ok()) return selection.status();
  std::string exactName = options.name.empty() ? selection->singleName() : options.name;
  std::string exactKey = exactName.empty() ? "" : keyFor(kind, ns, exactName);
  const std::string prefix = exactKey.empty() ? prefixFor(kind, ns) : exactKey;

  std::vector<WatchEvent> initial;
  int64_t since;
  const bool fromNow = options.resourceVersion.empty() || options.resourceVersion == "0";
  if (fromNow || options.sendInitialEvents) {
    store::ListPage page = store_.list(prefix, [&](const store::StoredObject& o) {
      return (exactKey.empty() || o.key == exactKey) && selection->matches(o);
    });
    for (auto& item : page.items) initial.push_back(WatchEvent{"ADDED", item, item->revision, {}});
    since = page.revision;
  } else {
    try {
      since = std::stoll(options.resourceVersion);
    } catch (const std::exception&) {
      return Status::badRequest("invalid resourceVersion \"" + options.resourceVersion + "\"");
    }
  }
  auto stream =
      std::make_unique<SelectingWatchStream>(store_, std::move(selection).value(), exactKey);
  auto w = store_.watch(prefix, since, std::move(notify), options.parsedObjects);
  if (!w.ok()) return w.status();
  stream->start(std::move(w).value(), std::move(initial), since);
  return std::unique_ptr<WatchStream>(std::move(stream));
}

}  // namespace kd::server
