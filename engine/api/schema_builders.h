#pragma once
// Builders shared by the schema tables (schema_<package>.cpp), so every package describes the
// parts all Kubernetes types share (the apiVersion/kind/metadata head of a top-level object, a
// condition's fields, atomic lists) the same way, in the same words.

#include <string>
#include <string_view>
#include <vector>

#include "engine/api/schema.h"

namespace kd::api {

// Makes the types of one package: with `constexpr TypeMaker type{"apps.v1"};`,
// type("Deployment", description, fields) is the TypeDef "apps.v1.Deployment".
class TypeMaker {
 public:
  constexpr explicit TypeMaker(std::string_view package) : package_(package) {}
  TypeDef operator()(std::string name, std::string description, std::vector<FieldDef> fields) const;

 private:
  std::string_view package_;  // "apps.v1"; must outlive the maker (a literal in practice)
};

enum class Metadata { Optional, Required };

// apiVersion, kind and metadata, followed by `rest`: the fields of a top-level object.
// apiVersion is the served one ("v1", "apps/v1"). Kubernetes requires metadata on very few
// kinds (core/v1 Event).
std::vector<FieldDef> objectHead(std::string_view apiVersion, std::string_view kind,
                                 std::vector<FieldDef> rest,
                                 Metadata metadata = Metadata::Optional);

// A list that server-side apply and strategic merge patch replace as a whole.
FieldDef atomic(std::string name, std::string type, std::string description);

// A list merged by `key` under strategic merge patch but atomic for server-side apply, as
// Kubernetes declares a few older lists (container ports, job conditions).
FieldDef keyedAtomic(FieldDef list, std::string key);

// A condition's required status: True, False or Unknown.
FieldDef conditionStatus();

// A condition's fields: type (described by the caller), status, any extra timestamps of that
// condition kind (lastProbeTime, lastUpdateTime, ...), then lastTransitionTime, reason, message.
std::vector<FieldDef> conditionFields(std::string typeDescription,
                                      std::vector<FieldDef> extraTimes = {});

}  // namespace kd::api
