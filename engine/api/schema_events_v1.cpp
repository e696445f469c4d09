#include "engine/api/schema_builders.h"

namespace kd::api {

void addEventsV1Types(std::vector<TypeDef>& out) {
  constexpr TypeMaker type{"events.v1"};
  out.push_back(type(
      "Event", "A report that something happened in the cluster, kept for a short time.",
      objectHead("events.k8s.io/v1", "Event",
                 {field("eventTime", "MicroTime", "When the event first happened.").req(),
                  field("series", "events.v1.EventSeries", "Set when the event repeats."),
                  field("reportingController", "string",
                        "The controller that reported it, such as "
                        "kubedesk.io/scheduler."),
                  field("reportingInstance", "string", "The instance of that controller."),
                  field("action", "string", "What was done or failed, such as Binding."),
                  field("reason", "string", "Why, as one CamelCase word."),
                  field("regarding", "core.v1.ObjectReference", "The object the event is about."),
                  field("related", "core.v1.ObjectReference", "A second object involved, if any."),
                  field("note", "string", "A sentence for people, at most 1 kB."),
                  field("type", "string", "Normal or Warning."),
                  field("deprecatedSource", "core.v1.EventSource",
                        "The core/v1 source, kept for old readers."),
                  field("deprecatedFirstTimestamp", "Time", "The core/v1 firstTimestamp."),
                  field("deprecatedLastTimestamp", "Time", "The core/v1 lastTimestamp."),
                  field("deprecatedCount", "integer", "The core/v1 count.")})));
  out.push_back(type("EventSeries", "How often a repeating event has been seen.",
                     {field("count", "integer", "How many times it was seen so far.").req(),
                      field("lastObservedTime", "MicroTime", "When it was last seen.").req()}));
}

}  // namespace kd::api
