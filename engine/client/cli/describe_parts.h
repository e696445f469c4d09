#pragma once
// Building blocks of describe.cpp, shared by the per-kind layouts in describe_kinds.cpp. Each
// appends kubectl-shaped lines (cells ending in '\t', aligned later by alignTabbed) to `out`.
// `level` is kubectl's indentation level: two spaces each.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"

namespace kd::cli::describe {

using TimePoint = std::chrono::system_clock::time_point;

// The member at a dotted path ("spec.template.spec"), or a null json.
const json& at(const json& object, std::string_view dottedPath);
// A scalar as Go's %v prints it: strings as they are, numbers, "true"/"false"; null -> "".
std::string text(const json& value);
std::string str(const json& object, std::string_view dottedPath);
// `value` when it is an array (object), else an empty one: safe to iterate.
const json& asArray(const json& value);
const json& asObject(const json& value);
// `value`, or `fallback` when it is empty.
std::string orElse(std::string value, std::string_view fallback);

std::optional<TimePoint> parseTime(const std::string& timestamp);
// kubectl's age of a timestamp ("5m"); "<unknown>" when absent.
std::string since(const std::string& timestamp, TimePoint now);

void put(std::string& out, int level, std::string_view line);

// "Labels:\tapp=web\n\t\ttier=db\n": one key per line, sorted, continuation lines starting
// with `initialIndent` + "\t".
void labels(std::string& out, std::string_view initialIndent, std::string_view title,
            const json& labelMap);
// Annotations like labels, but "key: value", skipping the last-applied configuration and
// breaking long or multi-line values.
void annotations(std::string& out, std::string_view title, const json& annotationMap);
// Name, Namespace (when namespaced), Labels and Annotations.
void header(std::string& out, const json& object);
void tolerations(std::string& out, std::string_view title, const json& list);
void taints(std::string& out, const json& list);
// "Controlled By:\tReplicaSet/web-1\n" when the object has a controller.
void controlledBy(std::string& out, const json& object);

// Containers (and Init Containers) of a pod or template, with statuses when `pod` is a pod.
void containers(std::string& out, std::string_view label, const json& list, const json& statuses,
                std::string_view space, const json* pod);
void volumes(std::string& out, const json& list, std::string_view space);
void podTemplate(std::string& out, const json& templateSpec);
// One column of a Conditions table. kubectl's layouts differ per kind in which cells carry a
// trailing space and whether a dash line follows the titles, so each column says so.
struct ConditionColumn {
  const char* title;
  const char* field;
  const char* dashes = nullptr;  // null: no dash line under the titles
  bool spaced = false;           // the cell ends in a space
  bool time = false;             // an RFC 3339 timestamp printed as RFC 1123
};
// "Conditions:" and one row per condition; nothing when there are none.
void conditionTable(std::string& out, const json& conditions,
                    const std::vector<ConditionColumn>& columns);
void events(std::string& out, const json& eventList, TimePoint now);

// Running / Waiting / Succeeded / Failed among the pods controlled by `owner`.
std::string podPhaseCounts(const json& pods, const json& owner);

}  // namespace kd::cli::describe
