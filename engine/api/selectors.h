#pragma once
// Label selectors (the query-string syntax: "a=b,c!=d,e in (x,y),f notin (z),g,!h" and the
// meta/v1 LabelSelector object) and field selectors ("metadata.name=x,spec.nodeName!=n1").

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/api/status.h"

namespace kd::api {

using Labels = std::map<std::string, std::string, std::less<>>;

Labels labelsOf(const json& object);  // metadata.labels as a map (empty when absent)

class LabelSelector {
 public:
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };

  // Parses the query-string form; an invalid selector is a 400 naming the offending part.
  static Result<LabelSelector> parse(std::string_view text);
  // From a meta/v1 LabelSelector (matchLabels + matchExpressions). An empty object selects
  // everything; a null/absent selector selects nothing (use `nothing()`).
  static Result<LabelSelector> fromJson(const json& selector);
  static LabelSelector nothing();

  bool matches(const Labels& labels) const;
  // Matches an object's metadata.labels where they are, without copying them into Labels
  // (controllers test every cached pod of a namespace on each sync).
  bool matchesObject(const json& object) const;
  bool empty() const { return requirements_.empty() && !matchesNothing_; }
  const std::vector<Requirement>& requirements() const { return requirements_; }
  std::string toString() const;  // canonical query-string form

 private:
  std::vector<Requirement> requirements_;
  bool matchesNothing_ = false;
};

class FieldSelector {
 public:
  struct Requirement {
    std::string field;  // "metadata.name", "spec.nodeName", "status.phase", ...
    bool equals;        // = / == versus !=
    std::string value;
  };

  // Parses "f=v,f2!=v2"; a field the kind does not support for selection is a 400 with
  // Kubernetes' message ("field label not supported: spec.foo").
  static Result<FieldSelector> parse(std::string_view text, const KindInfo& kind);

  bool matches(const json& object) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

  // The value of a selectable field of an object ("" when absent), e.g. spec.nodeName.
  static std::string fieldValue(const json& object, std::string_view field);

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace kd::api
