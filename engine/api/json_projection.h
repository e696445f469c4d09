#pragma once
// JsonProjection: which members of a JSON document to keep, for a consumer that reads a few
// fields of bulky objects (the dashboard's pods and events caches). The same projection can
// cut a parsed document (project) or be applied while parsing (parseProjected): members it
// drops are then skipped by the parser and never built, which is most of the work of a large
// list whose objects keep a tenth of their fields.
//
// A projection applies to an object's members; reaching an array, it applies to each element;
// scalars reached are kept as they are (as is a scalar where an object was expected).

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"

namespace kd::api {

struct JsonProjection {
  struct Member;  // defined below: a pair's traits need JsonProjection complete (clang)
  // Members kept, each cut by its own projection.
  std::vector<Member> members;
  // Members not named in `members` are kept whole, except those in `dropped`.
  bool keepOthers = false;
  std::vector<std::string> dropped;

  // Keeps everything.
  static JsonProjection whole();
  // Keeps the named members whole.
  static JsonProjection only(std::initializer_list<const char*> names);
  // Keeps everything but the named members.
  static JsonProjection allBut(std::initializer_list<const char*> names);
  // This projection with member `name` cut by `projection` (added or replaced).
  JsonProjection with(std::string name, JsonProjection projection) &&;

  // The projection of member `name`, or null when it is dropped.
  const JsonProjection* member(std::string_view name) const;
};

struct JsonProjection::Member {
  std::string name;
  JsonProjection projection;
};

// Cuts `value` in place.
void project(json& value, const JsonProjection& projection);

// Parses `text` keeping only what `projection` keeps: the same document as parsing it whole
// and then project(), without building what is dropped. A discarded value (is_discarded())
// when `text` is not valid JSON.
json parseProjected(std::string_view text, const JsonProjection& projection);

}  // namespace kd::api
