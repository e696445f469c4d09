#include "engine/api/schema_builders.h"

namespace kd::api {

TypeDef TypeMaker::operator()(std::string name, std::string description,
                              std::vector<FieldDef> fields) const {
  return TypeDef{std::string(package_) + "." + std::move(name), std::move(description),
                 std::move(fields), false};
}

std::vector<FieldDef> objectHead(std::string_view apiVersion, std::string_view kind,
                                 std::vector<FieldDef> rest, Metadata metadata) {
  std::vector<FieldDef> fields = {
      field("apiVersion", "string",
            "The versioned schema of this object, \"" + std::string(apiVersion) +
                "\"; the server fills it in when it is missing."),
      field("kind", "string",
            "The kind of this object, \"" + std::string(kind) +
                "\"; the server fills it in when it is missing."),
      field("metadata", "meta.v1.ObjectMeta",
            "Standard object metadata: name, namespace, labels, annotations and bookkeeping."),
  };
  fields.back().required = metadata == Metadata::Required;
  fields.insert(fields.end(), std::make_move_iterator(rest.begin()),
                std::make_move_iterator(rest.end()));
  return fields;
}

FieldDef atomic(std::string name, std::string type, std::string description) {
  return field(std::move(name), std::move(type), std::move(description)).list("atomic");
}

FieldDef keyedAtomic(FieldDef list, std::string key) {
  list.patchStrategy = "merge";
  list.patchMergeKey = std::move(key);
  list.listType = "atomic";
  return list;
}

FieldDef conditionStatus() {
  return field("status", "string", "Whether the condition holds: True, False or Unknown.")
      .req()
      .oneOf({"True", "False", "Unknown"});
}

std::vector<FieldDef> conditionFields(std::string typeDescription,
                                      std::vector<FieldDef> extraTimes) {
  std::vector<FieldDef> fields = {field("type", "string", std::move(typeDescription)).req(),
                                  conditionStatus()};
  fields.insert(fields.end(), std::make_move_iterator(extraTimes.begin()),
                std::make_move_iterator(extraTimes.end()));
  fields.push_back(
      field("lastTransitionTime", "Time", "When the condition last changed its status."));
  fields.push_back(
      field("reason", "string", "A one-word CamelCase reason for the last transition."));
  fields.push_back(field("message", "string", "A sentence for people about the last transition."));
  return fields;
}

}  // namespace kd::api
