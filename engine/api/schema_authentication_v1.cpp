#include "engine/api/schema_builders.h"

namespace kd::api {

// TokenRequest is not stored: it is the body of serviceaccounts/<name>/token, which kubectl
// create token (a typed client) sends as protobuf, so its types must be known to decode it.
void addAuthenticationV1Types(std::vector<TypeDef>& out) {
  constexpr TypeMaker type{"authentication.v1"};
  out.push_back(type(
      "TokenRequest", "Asks for a token of a service account; the answer carries the token.",
      objectHead("authentication.k8s.io/v1", "TokenRequest",
                 {field("spec", "authentication.v1.TokenRequestSpec", "The token wanted.").req(),
                  field("status", "authentication.v1.TokenRequestStatus",
                        "The token issued and when it expires.")})));
  out.push_back(type("TokenRequestSpec", "What a token is for and how long it lives.",
                     {atomic("audiences", "[]string",
                             "Who may accept the token; the API server's own audience when empty."),
                      field("expirationSeconds", "integer",
                            "How long the token is valid; 3600 by default, at least 600."),
                      field("boundObjectRef", "authentication.v1.BoundObjectReference",
                            "An object the token lives only as long as: a Pod.")}));
  out.push_back(
      type("TokenRequestStatus", "The token issued.",
           {field("token", "string", "The bearer token.").req(),
            field("expirationTimestamp", "Time", "When the token stops working.").req()}));
  out.push_back(type("BoundObjectReference", "The object a token is bound to.",
                     {field("kind", "string", "Pod."), field("apiVersion", "string", "v1."),
                      field("name", "string", "The object's name."),
                      field("uid", "string", "The object's uid, checked when given.")}));
}

}  // namespace kd::api
