#pragma once
// Small readers and writers of object fields that every controller needs, so each controller
// file reads as its own logic.

#include <string>

#include "engine/server/object_service.h"

namespace kd::controllers {

// obj[name] when it is an object, else an empty object (never throws).
const json& fieldOf(const json& obj, const char* name);
// metadata.name / metadata.namespace ("" when absent).
std::string nameOf(const json& obj);
std::string namespaceOf(const json& obj);
// metadata.deletionTimestamp is set: the object is going, held only by finalizers.
bool beingDeleted(const json& obj);

// Writes `status` through the status subresource unless the object already has exactly it.
// An object gone meanwhile (404) is not an error; a conflict (409) is, so the key is retried.
Status writeStatusIfChanged(server::ObjectService& objects, const api::KindInfo& kind,
                            const json& obj, json status);

}  // namespace kd::controllers
