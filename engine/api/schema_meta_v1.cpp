#include "engine/api/schema.h"

namespace kd::api {
namespace {

TypeDef type(std::string name, std::string description, std::vector<FieldDef> fields) {
  return TypeDef{"meta.v1." + std::move(name), std::move(description), std::move(fields), false};
}

FieldDef apiVersionField() {
  return field("apiVersion", "string",
               "The versioned schema of this object, such as \"v1\" or \"apps/v1\"; the server "
               "fills it in when it is missing.");
}

FieldDef kindField() {
  return field("kind", "string",
               "The kind of object this is, in CamelCase, such as \"Pod\"; the server fills it in "
               "when it is missing.");
}

TypeDef objectMeta() {
  return type(
      "ObjectMeta",
      "Metadata that every persisted object carries: identity, labels and bookkeeping.",
      {
          field("name", "string",
                "Name of the object, unique within its namespace (or the cluster for cluster-wide "
                "kinds); cannot be changed after creation."),
          field("generateName", "string",
                "A prefix from which the server makes a unique name when name is empty."),
          field("namespace", "string",
                "The namespace the object lives in; empty for cluster-wide kinds, and \"default\" "
                "when omitted for namespaced ones."),
          field("selfLink", "string",
                "Deprecated; the server no longer sets this URL of the object."),
          field("uid", "string",
                "A unique identifier the server assigns at creation and never reuses; read-only."),
          field("resourceVersion", "string",
                "An opaque version the server changes on every write; send it back to detect "
                "conflicting updates."),
          field("generation", "int64",
                "A counter of changes to the desired state (spec), kept by the server; read-only."),
          field("creationTimestamp", "Time", "When the server created the object; read-only."),
          field("deletionTimestamp", "Time",
                "When the object will be removed, set once a delete was requested and finalizers "
                "or a grace period hold it back; read-only."),
          field("deletionGracePeriodSeconds", "int64",
                "How many seconds the object is allowed to shut down gracefully once deletion "
                "started; read-only."),
          field("labels", "map[string]string",
                "Key/value pairs used to organise and select objects (by selectors)."),
          field("annotations", "map[string]string",
                "Free-form key/value data for tools and people; not used for selection."),
          field("ownerReferences", "[]meta.v1.OwnerReference",
                "Objects this one depends on; when all owners are gone the garbage collector "
                "deletes it.")
              .mergeKey("uid"),
          field("finalizers", "[]string",
                "Names of cleanup steps that must finish (and be removed from this list) before "
                "the object is actually deleted.")
              .strategy("merge")
              .list("set"),
          field("managedFields", "[]meta.v1.ManagedFieldsEntry",
                "Which manager owns which fields, for server-side apply; rarely edited by hand.")
              .list("atomic"),
      });
}

std::vector<TypeDef> metaTypes() {
  return {
      objectMeta(),
      type("OwnerReference", "Points at an object that owns this one.",
           {
               field("apiVersion", "string", "API version of the owner.").req(),
               field("kind", "string", "Kind of the owner.").req(),
               field("name", "string", "Name of the owner.").req(),
               field("uid", "string", "UID of the owner.").req(),
               field("controller", "boolean",
                     "True when the owner is the managing controller; at most one owner may be."),
               field("blockOwnerDeletion", "boolean",
                     "When true, foreground deletion of the owner waits until this object is "
                     "gone."),
           }),
      type("ListMeta", "Metadata of a list response.",
           {
               field("selfLink", "string", "Deprecated; no longer set."),
               field("resourceVersion", "string",
                     "The version of the collection at the time it was read; start a watch from "
                     "here to see later changes."),
               field("continue", "string",
                     "A token to fetch the next page when the list was limited; empty on the "
                     "last page."),
               field("remainingItemCount", "int64",
                     "Approximately how many items follow this page, when the server knows."),
           }),
      type("LabelSelector",
           "Selects objects by label; all conditions must hold, and an empty selector matches "
           "everything.",
           {
               field("matchLabels", "map[string]string",
                     "Labels that must be present with exactly these values."),
               field("matchExpressions", "[]meta.v1.LabelSelectorRequirement",
                     "Further conditions on labels, all of which must hold.")
                   .list("atomic"),
           }),
      type("LabelSelectorRequirement", "One condition on a label's value.",
           {
               field("key", "string", "The label key the condition is about.").req(),
               field("operator", "string", "How the label's value is compared with values.")
                   .req()
                   .oneOf({"In", "NotIn", "Exists", "DoesNotExist"}),
               field("values", "[]string",
                     "The values to compare with; must be empty for Exists and DoesNotExist.")
                   .list("atomic"),
           }),
      type("ManagedFieldsEntry", "The set of fields one manager owns, for server-side apply.",
           {
               field("manager", "string", "The name of the tool or controller that set them."),
               field("operation", "string", "The kind of write that set them.")
                   .oneOf({"Apply", "Update"}),
               field("apiVersion", "string", "The API version the field set is expressed in."),
               field("time", "Time", "When these fields last changed."),
               field("fieldsType", "string", "The format of fieldsV1; always \"FieldsV1\"."),
               field("fieldsV1", "RawJSON", "The owned fields, as a nested set."),
               field("subresource", "string",
                     "The subresource the write went through, empty for the main resource."),
           }),
      type("Condition", "One aspect of an object's current state, as reported by a controller.",
           {
               field("type", "string", "The aspect this condition describes, in CamelCase.").req(),
               field("status", "string", "Whether the condition holds.")
                   .req()
                   .oneOf({"True", "False", "Unknown"}),
               field("observedGeneration", "int64",
                     "The metadata.generation the condition was computed from."),
               field("lastTransitionTime", "Time", "When status last changed.").req(),
               field("reason", "string", "A CamelCase word saying why status changed.").req(),
               field("message", "string", "A human-readable explanation of the state.").req(),
           }),
      type("Status", "The result of a call that returns no object, most often an error.",
           {
               apiVersionField(),
               kindField(),
               field("metadata", "meta.v1.ListMeta", "Standard list metadata; usually empty."),
               field("status", "string", "\"Success\" or \"Failure\"."),
               field("message", "string", "What happened, for a person to read."),
               field("reason", "string",
                     "A machine-readable CamelCase cause such as NotFound or AlreadyExists."),
               field("details", "meta.v1.StatusDetails",
                     "More about the object the error is about."),
               field("code", "integer", "The HTTP status code of the response."),
           }),
      type("StatusDetails", "Which object a Status is about and what went wrong in detail.",
           {
               field("name", "string", "Name of the object concerned."),
               field("group", "string", "API group of the object concerned."),
               field("kind", "string", "Kind of the object concerned."),
               field("uid", "string", "UID of the object concerned."),
               field("causes", "[]meta.v1.StatusCause",
                     "The individual problems found, for example one per invalid field.")
                   .list("atomic"),
               field("retryAfterSeconds", "integer",
                     "How long a client should wait before retrying, when the error is temporary."),
           }),
      type("StatusCause", "One problem behind a failed call.",
           {
               field("reason", "string",
                     "A machine-readable kind of problem, like FieldValueInvalid."),
               field("message", "string", "What is wrong, for a person to read."),
               field("field", "string",
                     "The path of the field at fault, such as \"spec.containers[0].name\"."),
           }),
      type("DeleteOptions", "Options a client may send with a delete request.",
           {
               apiVersionField(),
               kindField(),
               field("gracePeriodSeconds", "int64",
                     "Seconds the object gets to shut down; 0 deletes at once, and the kind's "
                     "default applies when omitted."),
               field("preconditions", "meta.v1.Preconditions",
                     "Conditions the object must meet, or the delete is refused with a conflict."),
               field("orphanDependents", "boolean",
                     "Deprecated; use propagationPolicy. True leaves dependents in place."),
               field("propagationPolicy", "string",
                     "What happens to dependent objects; the kind's default when omitted.")
                   .oneOf({"Orphan", "Background", "Foreground"}),
               field("dryRun", "[]string", "\"All\" checks the request without storing anything.")
                   .list("atomic"),
               field("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean",
                     "Deletes an object that can no longer be read from storage; dangerous."),
           }),
      type("Preconditions", "What the object must look like for a delete to go ahead.",
           {
               field("uid", "string", "The object must have this UID."),
               field("resourceVersion", "string", "The object must be at this resourceVersion."),
           }),
      type("WatchEvent", "One change sent on a watch stream.",
           {
               field("type", "string", "What happened to the object.")
                   .req()
                   .oneOf({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"}),
               field("object", "RawJSON",
                     "The object after the change, or a Status when type is ERROR.")
                   .req(),
           }),
  };
}

}  // namespace

void addMetaV1Types(std::vector<TypeDef>& out) {
  for (auto& t : metaTypes()) out.push_back(std::move(t));
}

}  // namespace kd::api
