#include "engine/api/patch.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kd::api {
namespace {

constexpr std::string_view kDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList";
constexpr std::string_view kSetElementOrder = "$setElementOrder";
// Deeper documents are refused rather than risking the stack in the recursive walks below.
constexpr int kMaxDepth = 500;
constexpr size_t kMaxJsonPatchOperations = 10000;  // the apiserver's limit

// Thrown only inside this file; the public functions turn it back into a Status.
struct PatchFailure {
  Status status;
};

[[noreturn]] void badPatch(std::string message) {
  throw PatchFailure{Status::badRequest(std::move(message))};
}

[[noreturn]] void invalidPatch(std::string message) {
  throw PatchFailure{Status::invalid(std::move(message))};
}

std::string brief(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 120 ? text.substr(0, 117) + "..." : text;
}

// nlohmann prefixes its messages with "[json.exception.type.N] ".
std::string plainMessage(const std::exception& e) {
  std::string_view text = e.what();
  if (text.starts_with("[json.exception.")) {
    size_t end = text.find("] ");
    if (end != std::string_view::npos) text.remove_prefix(end + 2);
  }
  return std::string(text);
}

int nestingDepth(const json& value, int limit) {
  if (limit <= 0 || !value.is_structured()) return 0;
  int deepest = 0;
  for (const auto& child : value) deepest = std::max(deepest, nestingDepth(child, limit - 1));
  return deepest + 1;
}

void requireShallow(const json& value, std::string_view what) {
  if (nestingDepth(value, kMaxDepth + 1) > kMaxDepth) {
    badPatch(std::string(what) + " nests deeper than " + std::to_string(kMaxDepth) + " levels");
  }
}

// ---------------------------------------------------------------------------------------------
// Where a value sits in the schema.

// The schema's view of one value: its Go-style type, and the patch strategy and merge key of the
// field holding it. An empty type means the schema does not describe the value.
struct Slot {
  std::string type;
  std::string strategy;
  std::string mergeKey;
};

bool hasStrategy(const Slot& slot, std::string_view name) {
  std::string_view rest = slot.strategy;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    if (rest.substr(0, comma) == name) return true;
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  return false;
}

class Schema {
 public:
  explicit Schema(const SchemaRegistry& registry) : registry_(registry) {}

  Slot field(const Slot& object, const std::string& key) const {
    TypeExpr e = TypeExpr::parse(object.type);
    if (e.shape == TypeExpr::Shape::Map) return {e.name, "", ""};
    if (e.shape != TypeExpr::Shape::Named) return {};
    const TypeDef* type = registry_.type(e.name);
    const FieldDef* f = type ? type->field(key) : nullptr;
    if (!f) return {};
    return {f->type, f->patchStrategy, f->patchMergeKey};
  }

  static Slot element(const Slot& list) {
    TypeExpr e = TypeExpr::parse(list.type);
    return e.shape == TypeExpr::Shape::Array ? Slot{e.name, "", ""} : Slot{};
  }

 private:
  const SchemaRegistry& registry_;
};

// A position in the document, for error messages and the nesting limit.
struct Pos {
  std::string path;
  int depth = 0;

  Pos child(std::string_view key) const {
    if (depth >= kMaxDepth) badPatch("patch nests deeper than " + std::to_string(kMaxDepth));
    return {path.empty() ? std::string(key) : path + "." + std::string(key), depth + 1};
  }
  std::string name() const { return path.empty() ? "the object" : "\"" + path + "\""; }
};

// "$setElementOrder/containers" -> "containers"; a malformed directive key is a bad patch.
std::string directiveTarget(const std::string& key, std::string_view prefix) {
  if (key.size() <= prefix.size() + 1 || key[prefix.size()] != '/') {
    badPatch("malformed directive \"" + key + "\": expected \"" + std::string(prefix) +
             "/<field>\"");
  }
  return key.substr(prefix.size() + 1);
}

bool isDirectiveKey(const std::string& key, std::string_view prefix) {
  return key.starts_with(prefix);
}

// ---------------------------------------------------------------------------------------------
// List item identity and Kubernetes' ordering of merged lists.

// A keyed list's items are identified by their merge key's value, other items by themselves.
const json& identity(const json& item, const std::string& mergeKey) {
  static const json kNone;
  if (mergeKey.empty()) return item;
  if (!item.is_object()) return kNone;
  auto it = item.find(mergeKey);
  return it == item.end() ? kNone : *it;
}

std::ptrdiff_t indexOf(const json& list, const json& item, const std::string& mergeKey) {
  const json& id = identity(item, mergeKey);
  for (size_t i = 0; i < list.size(); ++i) {
    if (identity(list[i], mergeKey) == id) return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

bool containsItem(const json& list, const json& item, const std::string& mergeKey) {
  return indexOf(list, item, mergeKey) >= 0;
}

std::vector<json> sortedByIndexIn(std::vector<json> items, const json& order,
                                  const std::string& mergeKey) {
  std::vector<std::pair<std::ptrdiff_t, json>> ranked;
  for (auto& item : items) {
    std::ptrdiff_t i = indexOf(order, item, mergeKey);
    ranked.emplace_back(i < 0 ? std::numeric_limits<std::ptrdiff_t>::max() : i, std::move(item));
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  items.clear();
  for (auto& [rank, item] : ranked) items.push_back(std::move(item));
  return items;
}

// Kubernetes orders a merged list this way: items named by `order` follow that order, the rest
// keep their order in `server`, and a server-only item goes first only where `server` ranks it
// before the named item it competes with. So, without $setElementOrder, items new to the server
// come before the server's own ones.
json orderMergedList(const json& merged, const json& order, const json& server,
                     const std::string& mergeKey) {
  std::vector<json> named, serverOnly;
  for (const auto& item : merged) {
    (containsItem(order, item, mergeKey) ? named : serverOnly).push_back(item);
  }
  named = sortedByIndexIn(std::move(named), order, mergeKey);
  serverOnly = sortedByIndexIn(std::move(serverOnly), server, mergeKey);

  json out = json::array();
  size_t i = 0, j = 0;
  while (i < serverOnly.size() && j < named.size()) {
    std::ptrdiff_t left = indexOf(server, serverOnly[i], mergeKey);
    std::ptrdiff_t right = indexOf(server, named[j], mergeKey);
    bool serverFirst = left >= 0 && right >= 0 && left < right;
    out.push_back(std::move(serverFirst ? serverOnly[i++] : named[j++]));
  }
  for (; i < serverOnly.size(); ++i) out.push_back(std::move(serverOnly[i]));
  for (; j < named.size(); ++j) out.push_back(std::move(named[j]));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Applying a strategic merge patch.

class StrategicMerger {
 public:
  explicit StrategicMerger(const SchemaRegistry& registry) : schema_(registry) {}

  json mergeObject(json original, const json& patch, const Slot& slot, const Pos& pos) const;

 private:
  json mergeValue(json current, const json& patch, const Slot& slot, const Pos& pos) const;
  json mapDirective(const json& directive, const json& patch, const Slot& slot,
                    const Pos& pos) const;
  void retainKeys(json& original, const json& patch, const Pos& pos) const;
  std::vector<std::string> applyElementOrders(json& original, const json& patch, const Slot& slot,
                                              const Pos& pos) const;
  void deleteFromPrimitiveList(json& original, const std::string& key, const json& values,
                               const Pos& pos) const;
  json mergeList(json original, const json& patch, const Slot& slot, const Pos& pos) const;
  json mergeKeyedList(json original, const json& patch, const Slot& slot, const Pos& pos) const;

  Schema schema_;
};

json StrategicMerger::mergeObject(json original, const json& patch, const Slot& slot,
                                  const Pos& pos) const {
  if (auto d = patch.find(kDirective); d != patch.end()) return mapDirective(*d, patch, slot, pos);
  if (!original.is_object()) original = json::object();
  retainKeys(original, patch, pos);
  std::vector<std::string> ordered = applyElementOrders(original, patch, slot, pos);

  std::vector<std::pair<std::string, const json*>> deletions;
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& key = it.key();
    if (key == kRetainKeys || isDirectiveKey(key, kSetElementOrder)) continue;
    if (std::find(ordered.begin(), ordered.end(), key) != ordered.end()) continue;
    if (isDirectiveKey(key, kDeleteFromPrimitiveList)) {
      deletions.emplace_back(key, &*it);
    } else if (it->is_null()) {
      original.erase(key);
    } else {
      auto found = original.find(key);
      json current = found == original.end() ? json() : std::move(*found);
      original[key] = mergeValue(std::move(current), *it, schema_.field(slot, key), pos.child(key));
    }
  }
  for (const auto& [key, values] : deletions) deleteFromPrimitiveList(original, key, *values, pos);
  return original;
}

json StrategicMerger::mergeValue(json current, const json& patch, const Slot& slot,
                                 const Pos& pos) const {
  if (patch.is_object()) {
    bool keep = current.is_object() && !hasStrategy(slot, "replace");
    return mergeObject(keep ? std::move(current) : json::object(), patch, slot, pos);
  }
  if (patch.is_array() && hasStrategy(slot, "merge")) {
    return mergeList(current.is_array() ? std::move(current) : json::array(), patch, slot, pos);
  }
  return patch;
}

json StrategicMerger::mapDirective(const json& directive, const json& patch, const Slot& slot,
                                   const Pos& pos) const {
  if (directive == "delete") return json::object();
  if (directive == "replace") {
    json rest = patch;
    rest.erase(std::string(kDirective));
    return mergeObject(json::object(), rest, slot, pos);
  }
  // Kubernetes accepts only these two in a map ("merge" is the default and not spelled out).
  badPatch("unknown $patch directive " + brief(directive) + " at " + pos.name() +
           ": a map accepts \"replace\" or \"delete\"");
}

void StrategicMerger::retainKeys(json& original, const json& patch, const Pos& pos) const {
  auto found = patch.find(kRetainKeys);
  if (found == patch.end()) return;
  const json& keep = *found;
  if (!keep.is_array()) badPatch("$retainKeys at " + pos.name() + " must be a list of field names");
  auto kept = [&keep](const std::string& key) {
    return std::find(keep.begin(), keep.end(), json(key)) != keep.end();
  };
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& key = it.key();
    if (it->is_null() || key == kRetainKeys || isDirectiveKey(key, kSetElementOrder) ||
        isDirectiveKey(key, kDeleteFromPrimitiveList) || kept(key)) {
      continue;
    }
    badPatch("field \"" + key + "\" at " + pos.name() + " is set but not listed in $retainKeys");
  }
  for (auto it = original.begin(); it != original.end();) {
    it = kept(it.key()) ? std::next(it) : original.erase(it);
  }
}

// Kubernetes rejects a $setElementOrder whose list disagrees with the patch's own list.
void requireConsistentOrder(const json& patchList, const json& order, const std::string& mergeKey,
                            const std::string& field) {
  size_t o = 0;
  for (const auto& item : patchList) {
    if (item.is_object() && item.contains(kDirective)) continue;
    const json& id = identity(item, mergeKey);
    while (o < order.size() && identity(order[o], mergeKey) != id) ++o;
    if (o == order.size()) {
      badPatch("the items of \"" + field + "\" are not in the order $setElementOrder/" + field +
               " gives, or are missing from it");
    }
    ++o;
  }
}

// Merges each list that has a $setElementOrder directive and orders it; returns the fields done.
std::vector<std::string> StrategicMerger::applyElementOrders(json& original, const json& patch,
                                                             const Slot& slot,
                                                             const Pos& pos) const {
  std::vector<std::string> done;
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (!isDirectiveKey(it.key(), kSetElementOrder)) continue;
    std::string field = directiveTarget(it.key(), kSetElementOrder);
    const json& order = *it;
    auto patchList = patch.find(field);
    auto serverList = original.find(field);
    bool inPatch = patchList != patch.end(), onServer = serverList != original.end();
    if (!order.is_array() || (inPatch && !patchList->is_array()) ||
        (onServer && !serverList->is_null() && !serverList->is_array())) {
      badPatch(it.key() + " at " + pos.name() + " and the field it orders must be lists");
    }
    onServer = onServer && serverList->is_array();
    if (!inPatch && !onServer) continue;
    Slot fieldSlot = schema_.field(slot, field);
    json server = onServer ? *serverList : json::array();
    json merged = server;
    if (inPatch) {
      requireConsistentOrder(*patchList, order, fieldSlot.mergeKey, field);
      merged = mergeValue(std::move(merged), *patchList, fieldSlot, pos.child(field));
      done.push_back(field);
    }
    original[field] = orderMergedList(merged, order, server, fieldSlot.mergeKey);
  }
  return done;
}

void StrategicMerger::deleteFromPrimitiveList(json& original, const std::string& key,
                                              const json& values, const Pos& pos) const {
  std::string field = directiveTarget(key, kDeleteFromPrimitiveList);
  if (!values.is_array()) badPatch(key + " at " + pos.name() + " must be a list of values");
  auto list = original.find(field);
  if (list == original.end() || !list->is_array()) return;
  json kept = json::array();
  for (auto& v : *list) {
    if (std::find(values.begin(), values.end(), v) == values.end()) kept.push_back(std::move(v));
  }
  *list = std::move(kept);
}

json StrategicMerger::mergeList(json original, const json& patch, const Slot& slot,
                                const Pos& pos) const {
  if (original.empty() && patch.empty()) return original;
  bool objects = false, scalars = false;
  const json* lists[] = {&original, &patch};
  for (const json* list : lists) {
    for (const auto& item : *list) {
      if (item.is_array()) invalidPatch("lists of lists cannot be merged (" + pos.name() + ")");
      (item.is_object() ? objects : scalars) = true;
    }
  }
  if (objects && scalars) {
    badPatch("the items of " + pos.name() + " must be all objects or all scalars to be merged");
  }
  if (objects) return mergeKeyedList(std::move(original), patch, slot, pos);

  json merged = json::array();
  for (const json* list : lists) {
    for (const auto& v : *list) {
      if (!containsItem(merged, v, "")) merged.push_back(v);
    }
  }
  return orderMergedList(merged, patch, original, "");
}

json StrategicMerger::mergeKeyedList(json original, const json& patch, const Slot& slot,
                                     const Pos& pos) const {
  const std::string& key = slot.mergeKey;
  if (key.empty()) badPatch("cannot merge the list " + pos.name() + ": it has no merge key");
  auto requireKey = [&](const json& item) {
    if (!item.contains(key)) {
      badPatch("item " + brief(item) + " of " + pos.name() + " lacks the merge key \"" + key +
               "\"");
    }
  };
  json items = json::array();
  bool replace = false;
  for (const auto& item : patch) {
    auto d = item.find(kDirective);
    if (d == item.end()) {
      requireKey(item);
      items.push_back(item);
    } else if (*d == "delete") {
      requireKey(item);
      json kept = json::array();
      for (auto& o : original) {
        if (identity(o, key) != item.at(key)) kept.push_back(std::move(o));
      }
      original = std::move(kept);
    } else if (*d == "replace") {
      replace = true;
    } else {
      badPatch("unknown $patch directive " + brief(*d) + " in the list " + pos.name() +
               ": a list item accepts \"replace\" or \"delete\"");
    }
  }
  Slot itemSlot = Schema::element(slot);
  json merged = replace ? json::array() : original;
  for (const auto& item : items) {
    Pos itemPos = pos.child("[" + key + "=" + brief(item.at(key)) + "]");
    std::ptrdiff_t at = replace ? -1 : indexOf(merged, item, key);
    if (at < 0) {
      merged.push_back(mergeObject(json::object(), item, itemSlot, itemPos));
    } else {
      auto& target = merged[static_cast<size_t>(at)];
      target = mergeObject(std::move(target), item, itemSlot, itemPos);
    }
  }
  return replace ? merged : orderMergedList(merged, items, original, key);
}

json strategicMergePatch(const json& original, const json& patch, const SchemaRegistry& schemas,
                         std::string_view typeName) {
  if (!patch.is_object()) badPatch("a strategic merge patch must be a JSON object");
  requireShallow(patch, "the patch");
  StrategicMerger merger(schemas);
  return merger.mergeObject(original, patch, Slot{std::string(typeName), "", ""}, Pos{});
}

// ---------------------------------------------------------------------------------------------
// RFC 7386 merge patch and RFC 6902 JSON patch.

json mergePatch(const json& original, const json& patch) {
  if (!patch.is_object()) badPatch("a merge patch must be a JSON object");
  requireShallow(patch, "the patch");
  json out = original;
  out.merge_patch(patch);
  return out;
}

// Failures of one JSON patch operation; reported with the operation's index.
struct OperationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json& member(const json& op, const char* name) {
  auto it = op.find(name);
  if (it == op.end()) throw OperationError(std::string("missing \"") + name + "\"");
  return *it;
}

json::json_pointer pointerMember(const json& op, const char* name) {
  const json& value = member(op, name);
  if (!value.is_string()) throw OperationError(std::string("\"") + name + "\" must be a string");
  return json::json_pointer(value.get<std::string>());
}

size_t arrayIndex(const std::string& token, size_t size, bool allowEnd) {
  size_t index = 0;
  auto [end, err] = std::from_chars(token.data(), token.data() + token.size(), index);
  bool canonical = !token.empty() && (token == "0" || token[0] != '0');
  if (err != std::errc() || end != token.data() + token.size() || !canonical) {
    throw OperationError("\"" + token + "\" is not a list index");
  }
  if (index > size || (index == size && !allowEnd)) {
    throw OperationError("list index " + token + " is out of range");
  }
  return index;
}

// The parent of `path` must already exist and be an object or a list (RFC 6902 section 4.1).
json& containerOf(json& doc, const json::json_pointer& path) {
  json& parent = doc.at(path.parent_pointer());
  if (!parent.is_object() && !parent.is_array()) {
    throw OperationError("the parent of \"" + path.to_string() + "\" is not an object or a list");
  }
  return parent;
}

void addAt(json& doc, const json::json_pointer& path, json value) {
  if (path.empty()) {
    doc = std::move(value);
    return;
  }
  json& parent = containerOf(doc, path);
  const std::string& last = path.back();
  if (parent.is_object()) {
    parent[last] = std::move(value);
  } else if (last == "-") {
    parent.push_back(std::move(value));
  } else {
    size_t i = arrayIndex(last, parent.size(), true);
    parent.insert(parent.begin() + static_cast<std::ptrdiff_t>(i), std::move(value));
  }
}

void removeAt(json& doc, const json::json_pointer& path) {
  if (path.empty()) throw OperationError("the whole document cannot be removed");
  json& parent = containerOf(doc, path);
  const std::string& last = path.back();
  if (parent.is_object()) {
    if (parent.erase(last) == 0) throw OperationError("no field \"" + last + "\" to remove");
  } else {
    parent.erase(arrayIndex(last, parent.size(), false));
  }
}

void applyOperation(json& doc, const json& op) {
  const json& name = member(op, "op");
  json::json_pointer path = pointerMember(op, "path");
  if (name == "add") {
    addAt(doc, path, member(op, "value"));
  } else if (name == "remove") {
    removeAt(doc, path);
  } else if (name == "replace") {
    doc.at(path) = member(op, "value");
  } else if (name == "move" || name == "copy") {
    json::json_pointer from = pointerMember(op, "from");
    if (name == "move" && path.to_string().starts_with(from.to_string() + "/")) {
      throw OperationError("a value cannot be moved into itself");
    }
    json value = doc.at(from);
    if (name == "move") removeAt(doc, from);
    addAt(doc, path, std::move(value));
  } else if (name == "test") {
    if (doc.at(path) != member(op, "value")) {
      throw OperationError("test failed: the value at \"" + path.to_string() + "\" is not " +
                           brief(member(op, "value")));
    }
  } else {
    throw OperationError("unknown operation " + brief(name));
  }
}

// As the apiserver does: a malformed patch document is 400, an operation that cannot be applied
// (a failed "test" included) is 422.
json jsonPatch(const json& original, const json& patch) {
  if (!patch.is_array()) badPatch("a JSON patch must be a list of operations");
  if (patch.size() > kMaxJsonPatchOperations) {
    throw PatchFailure{Status::requestEntityTooLarge(
        "a JSON patch may hold at most " + std::to_string(kMaxJsonPatchOperations) +
        " operations, got " + std::to_string(patch.size()))};
  }
  for (const auto& op : patch) {
    if (!op.is_object()) badPatch("every JSON patch operation must be an object");
  }
  json doc = original;
  for (size_t i = 0; i < patch.size(); ++i) {
    try {
      applyOperation(doc, patch[i]);
    } catch (const std::exception& e) {  // OperationError and nlohmann's pointer errors
      invalidPatch("JSON patch operation " + std::to_string(i) + " " + brief(patch[i]) +
                   " failed: " + plainMessage(e));
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// The three-way patch kubectl apply sends.

bool allKeyed(const json& list, const std::string& mergeKey) {
  return !mergeKey.empty() && std::all_of(list.begin(), list.end(), [&](const json& item) {
    return item.is_object() && item.contains(mergeKey);
  });
}

bool allScalars(const json& list) {
  return std::all_of(list.begin(), list.end(),
                     [](const json& item) { return item.is_primitive(); });
}

// Only objects: the three-way diff walks into what it finds.
const json* findByKey(const json& list, const json& id, const std::string& mergeKey) {
  for (const auto& item : list) {
    if (item.is_object() && identity(item, mergeKey) == id) return &item;
  }
  return nullptr;
}

bool hasFieldsBeyond(const json& object, const json& modified) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (!it->is_null() && !modified.contains(it.key())) return true;
  }
  return false;
}

class ThreeWayDiff {
 public:
  explicit ThreeWayDiff(const SchemaRegistry& registry) : schema_(registry) {}

  // `original` is null where the last-applied configuration has no object here.
  json diffObject(const json* original, const json& modified, const json& current, const Slot& slot,
                  bool retainKeys, const Pos& pos) const;

 private:
  void diffList(const std::string& key, const json* original, const json& modified,
                const json& current, const Slot& slot, json& patch, const Pos& pos) const;
  void diffKeyedList(const std::string& key, const json& original, const json& modified,
                     const json& current, const Slot& slot, json& patch, const Pos& pos) const;
  static void diffScalarList(const std::string& key, const json& original, const json& modified,
                             const json& current, json& patch);

  Schema schema_;
};

json ThreeWayDiff::diffObject(const json* original, const json& modified, const json& current,
                              const Slot& slot, bool retainKeys, const Pos& pos) const {
  json patch = json::object();
  for (auto it = modified.begin(); it != modified.end(); ++it) {
    const std::string& key = it.key();
    const json& mine = *it;
    auto live = current.find(key);
    if (live == current.end()) {
      patch[key] = mine;
      continue;
    }
    const json* last = nullptr;
    if (original) {
      auto found = original->find(key);
      if (found != original->end()) last = &*found;
    }
    Slot field = schema_.field(slot, key);
    if (mine.is_object() && live->is_object() && !hasStrategy(field, "replace")) {
      json sub = diffObject(last && last->is_object() ? last : nullptr, mine, *live, field,
                            hasStrategy(field, "retainKeys"), pos.child(key));
      if (!sub.empty()) patch[key] = std::move(sub);
    } else if (mine.is_array() && live->is_array()) {
      diffList(key, last && last->is_array() ? last : nullptr, mine, *live, field, patch,
               pos.child(key));
    } else if (mine != *live) {
      patch[key] = mine;
    }
  }
  if (original) {
    for (auto it = original->begin(); it != original->end(); ++it) {
      if (!modified.contains(it.key())) patch[it.key()] = nullptr;
    }
  }
  if (retainKeys && (!patch.empty() || hasFieldsBeyond(current, modified) ||
                     (original && hasFieldsBeyond(*original, modified)))) {
    json keep = json::array();  // object keys iterate sorted, as kubectl sorts this list
    for (auto it = modified.begin(); it != modified.end(); ++it) {
      if (!it->is_null()) keep.push_back(it.key());
    }
    patch[std::string(kRetainKeys)] = std::move(keep);
  }
  return patch;
}

void ThreeWayDiff::diffList(const std::string& key, const json* original, const json& modified,
                            const json& current, const Slot& slot, json& patch,
                            const Pos& pos) const {
  static const json kEmpty = json::array();
  const json& last = original ? *original : kEmpty;
  if (!hasStrategy(slot, "merge")) {
    if (modified != current) patch[key] = modified;
  } else if (allKeyed(modified, slot.mergeKey)) {
    diffKeyedList(key, last, modified, current, slot, patch, pos);
  } else if (allScalars(modified)) {
    diffScalarList(key, last, modified, current, patch);
  } else {
    // The server would merge whatever list we send, so there is no safe patch; kubectl fails too.
    badPatch("the items of " + pos.name() + " must be scalars or objects with the merge key \"" +
             slot.mergeKey + "\"");
  }
}

void ThreeWayDiff::diffKeyedList(const std::string& key, const json& original, const json& modified,
                                 const json& current, const Slot& slot, json& patch,
                                 const Pos& pos) const {
  const std::string& mergeKey = slot.mergeKey;
  Slot itemSlot = Schema::element(slot);
  bool retainKeys = hasStrategy(slot, "retainKeys");
  json items = json::array();
  for (const auto& mine : modified) {
    const json& id = mine.at(mergeKey);
    const json* live = findByKey(current, id, mergeKey);
    if (!live) {
      items.push_back(mine);
      continue;
    }
    json sub = diffObject(findByKey(original, id, mergeKey), mine, *live, itemSlot, retainKeys,
                          pos.child("[" + mergeKey + "=" + brief(id) + "]"));
    if (!sub.empty()) {
      sub[mergeKey] = id;
      items.push_back(std::move(sub));
    }
  }
  for (const auto& last : original) {
    const json& id = identity(last, mergeKey);
    if (last.is_object() && last.contains(mergeKey) && !findByKey(modified, id, mergeKey)) {
      json deletion = json::object();
      deletion[mergeKey] = id;
      deletion[std::string(kDirective)] = "delete";
      items.push_back(std::move(deletion));
    }
  }
  bool sameOrder = modified.size() == current.size();
  for (size_t i = 0; sameOrder && i < modified.size(); ++i) {
    sameOrder = modified[i].at(mergeKey) == identity(current[i], mergeKey);
  }
  if ((!items.empty() || !sameOrder) && !modified.empty()) {
    json order = json::array();
    for (const auto& mine : modified) {
      json entry = json::object();
      entry[mergeKey] = mine.at(mergeKey);
      order.push_back(std::move(entry));
    }
    patch[std::string(kSetElementOrder) + "/" + key] = std::move(order);
  }
  if (!items.empty()) patch[key] = std::move(items);
}

void ThreeWayDiff::diffScalarList(const std::string& key, const json& original,
                                  const json& modified, const json& current, json& patch) {
  json additions = json::array(), deletions = json::array();
  for (const auto& v : modified) {
    if (!containsItem(current, v, "") && !containsItem(additions, v, "")) additions.push_back(v);
  }
  for (const auto& v : original) {
    if (!containsItem(modified, v, "") && !containsItem(deletions, v, "")) deletions.push_back(v);
  }
  bool deletes = !deletions.empty();
  if (!additions.empty()) patch[key] = std::move(additions);
  if (deletes) patch[std::string(kDeleteFromPrimitiveList) + "/" + key] = std::move(deletions);
  if ((modified != current || deletes) && !modified.empty()) {
    patch[std::string(kSetElementOrder) + "/" + key] = modified;
  }
}

template <class F>
auto guarded(F&& body) -> Result<decltype(body())> {
  try {
    return body();
  } catch (const PatchFailure& failure) {
    return failure.status;
  } catch (const json::exception& e) {
    return Status::badRequest("invalid patch: " + plainMessage(e));
  } catch (const std::exception& e) {
    return Status::internal("patch failed: " + plainMessage(e));
  }
}

}  // namespace

Result<PatchType> patchTypeFromContentType(std::string_view contentType) {
  std::string_view media = contentType.substr(0, contentType.find(';'));
  while (!media.empty() && std::isspace(static_cast<unsigned char>(media.front()))) {
    media.remove_prefix(1);
  }
  while (!media.empty() && std::isspace(static_cast<unsigned char>(media.back()))) {
    media.remove_suffix(1);
  }
  std::string lower(media);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::pair<std::string_view, PatchType> kTypes[] = {
      {"application/json-patch+json", PatchType::Json},
      {"application/merge-patch+json", PatchType::Merge},
      {"application/strategic-merge-patch+json", PatchType::StrategicMerge},
  };
  for (const auto& [name, type] : kTypes) {
    if (lower == name) return type;
  }
  return Status::unsupportedMediaType(
      "unsupported patch Content-Type \"" + std::string(contentType) +
      "\"; use application/json-patch+json, application/merge-patch+json or "
      "application/strategic-merge-patch+json");
}

Result<json> applyPatch(PatchType type, const json& original, const json& patch,
                        const SchemaRegistry& schemas, std::string_view typeName) {
  return guarded([&]() -> json {
    switch (type) {
      case PatchType::Json:
        return jsonPatch(original, patch);
      case PatchType::Merge:
        return mergePatch(original, patch);
      case PatchType::StrategicMerge:
        return strategicMergePatch(original, patch, schemas, typeName);
    }
    badPatch("unknown patch type");
  });
}

Result<json> createThreeWayMergePatch(const json& original, const json& modified,
                                      const json& current, const SchemaRegistry& schemas,
                                      std::string_view typeName) {
  return guarded([&]() -> json {
    if (!modified.is_object()) badPatch("the new configuration must be a JSON object");
    if (!current.is_object() && !current.is_null()) badPatch("the live object must be an object");
    if (!original.is_object() && !original.is_null()) {
      badPatch("the last-applied configuration must be a JSON object");
    }
    requireShallow(modified, "the new configuration");
    static const json kNoObject = json::object();
    ThreeWayDiff diff(schemas);
    return diff.diffObject(original.is_object() ? &original : nullptr, modified,
                           current.is_object() ? current : kNoObject,
                           Slot{std::string(typeName), "", ""}, false, Pos{});
  });
}

}  // namespace kd::api
