#include "engine/api/json_projection.h"

#include <algorithm>

namespace kd::api {
namespace {

const JsonProjection& wholeProjection() {
  static const JsonProjection kWhole = JsonProjection::whole();
  return kWhole;
}

// nlohmann's SAX interface building the projected document: a member the projection drops is
// skipped with everything inside it.
class ProjectingBuilder {
 public:
  explicit ProjectingBuilder(const JsonProjection& projection) : rootProjection_(projection) {}

  json result() && { return std::move(root_); }

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(json::number_integer_t v) { return put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return put(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return put(v); }
  bool string(json::string_t& v) { return put(std::move(v)); }
  bool binary(json::binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (skipDepth_ > 0) return true;
    const JsonProjection* p = stack_.back().projection->member(k);
    if (!p) {
      skipNext_ = true;
      return true;
    }
    key_ = std::move(k);
    keyProjection_ = p;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  struct Frame {
    json* value;
    const JsonProjection* projection;  // of an object's members, or of an array's elements
  };

  // Places `v` where the parser is; null when it is skipped.
  json* place(json&& v, const JsonProjection** projection) {
    if (stack_.empty()) {
      root_ = std::move(v);
      *projection = &rootProjection_;
      return &root_;
    }
    Frame& top = stack_.back();
    if (top.value->is_array()) {
      auto& array = top.value->get_ref<json::array_t&>();
      array.push_back(std::move(v));
      *projection = top.projection;
      return &array.back();
    }
    auto& object = top.value->get_ref<json::object_t&>();
    *projection = keyProjection_;
    return &object.insert_or_assign(std::move(key_), std::move(v)).first->second;
  }

  template <class V>
  bool put(V&& v) {
    if (skipDepth_ > 0) return true;
    if (skipNext_) {
      skipNext_ = false;
      return true;
    }
    const JsonProjection* unused;
    place(json(std::forward<V>(v)), &unused);
    return true;
  }

  bool open(json&& empty) {
    if (skipDepth_ > 0 || skipNext_) {
      skipNext_ = false;
      ++skipDepth_;
      return true;
    }
    const JsonProjection* projection;
    json* v = place(std::move(empty), &projection);
    stack_.push_back({v, projection});
    return true;
  }

  bool close() {
    if (skipDepth_ > 0) {
      --skipDepth_;
      return true;
    }
    stack_.pop_back();
    return true;
  }

  const JsonProjection& rootProjection_;
  json root_;
  std::vector<Frame> stack_;
  int skipDepth_ = 0;      // inside a skipped member this deep
  bool skipNext_ = false;  // the value after a dropped key is skipped
  std::string key_;
  const JsonProjection* keyProjection_ = nullptr;
};

}  // namespace

JsonProjection JsonProjection::whole() {
  JsonProjection p;
  p.keepOthers = true;
  return p;
}

JsonProjection JsonProjection::only(std::initializer_list<const char*> names) {
  JsonProjection p;
  for (const char* name : names) p.members.push_back({name, whole()});
  return p;
}

JsonProjection JsonProjection::allBut(std::initializer_list<const char*> names) {
  JsonProjection p = whole();
  p.dropped.assign(names.begin(), names.end());
  return p;
}

JsonProjection JsonProjection::with(std::string name, JsonProjection projection) && {
  auto it =
      std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.name == name; });
  if (it != members.end()) {
    it->projection = std::move(projection);
  } else {
    members.push_back({std::move(name), std::move(projection)});
  }
  return std::move(*this);
}

const JsonProjection* JsonProjection::member(std::string_view name) const {
  for (const auto& m : members) {
    if (m.name == name) return &m.projection;
  }
  if (!keepOthers) return nullptr;
  for (const auto& d : dropped) {
    if (d == name) return nullptr;
  }
  return &wholeProjection();
}

void project(json& value, const JsonProjection& projection) {
  if (value.is_array()) {
    for (json& element : value) project(element, projection);
    return;
  }
  if (!value.is_object()) return;
  if (projection.keepOthers && projection.members.empty() && projection.dropped.empty()) return;
  auto& object = value.get_ref<json::object_t&>();
  for (auto it = object.begin(); it != object.end();) {
    if (const JsonProjection* p = projection.member(it->first)) {
      project(it->second, *p);
      ++it;
    } else {
      it = object.erase(it);
    }
  }
}

json parseProjected(std::string_view text, const JsonProjection& projection) {
  ProjectingBuilder builder(projection);
  if (!json::sax_parse(text, &builder)) return json(json::value_t::discarded);
  return std::move(builder).result();
}

}  // namespace kd::api
