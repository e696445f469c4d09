#pragma once
// Kubernetes protobuf request bodies, decoded into the JSON objects the rest of the engine works
// on. kubectl's typed clients (create namespace/configmap/secret/deployment/job/cronjob/service/
// serviceaccount) send `application/vnd.kubernetes.protobuf` and do not retry with JSON on 415,
// so the API handler decodes such bodies and then treats them exactly like JSON ones.
//
// Wire form: the 4 bytes "k8s\0", then a runtime.Unknown message whose TypeMeta names the object's
// apiVersion and kind and whose `raw` bytes hold the object's own message. Field numbers come from
// the table in proto_fields.cpp; what a field holds (scalar, list, map, nested type) comes from
// the SchemaRegistry, so the decoded JSON uses the same names and shapes as the schema.
//
// The result is what Go's encoding/json would print for the same object: zero-valued scalars of
// non-pointer `omitempty` fields are left out, pointer fields keep their zero values
// (replicas: 0 stays), bytes become base64 strings, Time/MicroTime become RFC 3339 (a zero Time
// becomes null), Quantity and IntOrString become their JSON scalars, RawExtension and FieldsV1
// become the JSON they carry.

#include <string_view>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/api/schema.h"
#include "engine/api/status.h"

namespace kd::api {

// True when a Content-Type header names Kubernetes protobuf ("application/vnd.kubernetes.protobuf",
// parameters and letter case ignored).
bool isKubernetesProtobuf(std::string_view contentType);

// Decodes a whole request body. The object's type is found through `kinds` (apiVersion + kind from
// the envelope); a few non-resource bodies with a schema type (meta.v1 DeleteOptions, core.v1
// Binding) are found by name. The returned object has apiVersion and kind set.
// Fails with 400 BadRequest naming the problem: a missing magic prefix, a truncated or malformed
// message, an unknown apiVersion/kind, a field number the table lacks (type and number named, so
// newer fields are reported instead of silently dropped), text that is not UTF-8, or nesting
// deeper than 64 messages. Never reads outside `body`; safe on arbitrary input. Thread-safe.
Result<json> decodeKubernetesProtobuf(std::string_view body, const KindsRegistry& kinds,
                                      const SchemaRegistry& schema);

// The protobuf field-number table (proto_fields.cpp), exposed for the decoder and for tests that
// check it against the schema.
inline constexpr unsigned kProtoInline =
    1;  // Go embedded struct: its fields join the parent's JSON
inline constexpr unsigned kProtoKeepZero = 2;  // pointer or non-omitempty scalar: keep "", 0, false

struct ProtoField {
  std::string_view json;  // JSON field name; "" for an inline (embedded) message
  int number = 0;
  // Set only where the schema cannot say what the field holds: inline messages, fields the schema
  // keeps as RawJSON (legacy volume sources), and types that exist only in this table. Written in
  // the schema's type grammar ("core.v1.RBDVolumeSource", "[]string", "integer").
  std::string_view type;
  unsigned flags = 0;

  constexpr ProtoField(std::string_view j, int n, unsigned f = 0) : json(j), number(n), flags(f) {}
  constexpr ProtoField(std::string_view j, int n, std::string_view t, unsigned f = 0)
      : json(j), number(n), type(t), flags(f) {}
};

struct ProtoMessage {
  std::string_view type;  // schema type name, e.g. "core.v1.Container"
  std::vector<ProtoField> fields;

  const ProtoField* byNumber(int number) const;
};

// Every message the decoder knows, in no particular order.
const std::vector<ProtoMessage>& protoMessages();
// nullptr when the table has no numbers for that type.
const ProtoMessage* protoMessage(std::string_view type);

}  // namespace kd::api
