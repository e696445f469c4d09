#include "engine/api/schema_builders.h"

namespace kd::api {
void addDiscoveryV1Types(std::vector<TypeDef>& out) {
  constexpr TypeMaker type{"discovery.v1"};
  std::vector<TypeDef> types = {
      type("EndpointSlice", "A share of the network endpoints behind a service.",
           objectHead(
               "discovery.k8s.io/v1", "EndpointSlice",
               {field("addressType", "string",
                      "The kind of every address in the slice: IPv4, IPv6 or FQDN; cannot change.")
                    .req()
                    .oneOf({"IPv4", "IPv6", "FQDN"}),
                field("endpoints", "[]discovery.v1.Endpoint", "The endpoints, at most 1000.")
                    .req()
                    .list("atomic"),
                field("ports", "[]discovery.v1.EndpointPort",
                      "The ports every endpoint in the slice offers; empty means all ports.")
                    .list("atomic")})),
      type("Endpoint", "One backend of a service.",
           {field("addresses", "[]string", "The endpoint's addresses, of the slice's type.")
                .req()
                .list("set"),
            field("conditions", "discovery.v1.EndpointConditions",
                  "Whether the endpoint is ready, serving or terminating."),
            field("hostname", "string", "A DNS label naming this endpoint."),
            field("targetRef", "core.v1.ObjectReference", "The pod or other object behind it."),
            field("deprecatedTopology", "map[string]string",
                  "Deprecated topology labels kept for old readers."),
            field("nodeName", "string", "The node the endpoint runs on."),
            field("zone", "string", "The zone the endpoint runs in."),
            field("hints", "discovery.v1.EndpointHints",
                  "Suggestions for topology-aware routing.")}),
      type("EndpointConditions", "The readiness of an endpoint.",
           {field("ready", "boolean", "Whether traffic should be sent here; unset means ready."),
            field("serving", "boolean", "Whether it answers requests, even while terminating."),
            field("terminating", "boolean", "Whether it is shutting down.")}),
      type("EndpointHints", "Where an endpoint would best be used from.",
           {field("forZones", "[]discovery.v1.ForZone", "Zones that should use this endpoint.")
                .list("atomic"),
            field("forNodes", "[]discovery.v1.ForNode", "Nodes that should use this endpoint.")
                .list("atomic")}),
      type("ForZone", "A zone named in a hint.",
           {field("name", "string", "The zone's name.").req()}),
      type("ForNode", "A node named in a hint.",
           {field("name", "string", "The node's name.").req()}),
      type("EndpointPort", "A port offered by the endpoints of a slice.",
           {field("name", "string", "The port's name, matching the service port's name."),
            field("protocol", "string", "TCP, UDP or SCTP; default TCP.")
                .oneOf({"TCP", "UDP", "SCTP"}),
            field("port", "integer", "The port number; unset means all ports."),
            field("appProtocol", "string", "The application protocol, such as http.")}),
  };
  out.insert(out.end(), types.begin(), types.end());
}

}  // namespace kd::api
