#pragma once
// Validation as the Kubernetes API server does it, in two layers:
//  1. against the schema: unknown fields (per fieldValidation mode), wrong JSON types,
//     duplicate merge keys in map lists;
//  2. the kind's own rules: DNS-1123 names, label and annotation syntax, required fields,
//     port ranges, selector matching the template, immutable fields on update.
// Failures are 422 Invalid with one cause per field, the message kubectl prints
// ("Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater
// than or equal to 0"); unknown fields under Strict are 400 BadRequest
// (strict decoding error: unknown field "spec.foo").

#include <string>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/api/schema.h"
#include "engine/api/status.h"

namespace kd::api {

enum class FieldValidation { Ignore, Warn, Strict };

// Parses the fieldValidation query parameter ("" means Warn, as the API server does).
Result<FieldValidation> parseFieldValidation(std::string_view value);

// Schema layer. Unknown fields become warnings (Warn), an error (Strict) or nothing (Ignore).
Status validateAgainstSchema(const KindInfo& kind, const json& object, FieldValidation mode,
                             const SchemaRegistry& schemas, std::vector<std::string>* warnings);

// Kind layer for a create (oldObject == nullptr) or an update.
Status validateObject(const KindInfo& kind, const json& object, const json* oldObject);

// Name rules used across the engine (DNS-1123 subdomain/label, label keys and values).
// Each returns "" when valid, else the message Kubernetes gives.
std::string checkDns1123Subdomain(std::string_view value);
std::string checkDns1123Label(std::string_view value);
std::string checkLabelKey(std::string_view key);
std::string checkLabelValue(std::string_view value);

}  // namespace kd::api
