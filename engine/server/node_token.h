#pragma once
// Bearer tokens for node agents. A token names its node and carries an HMAC-SHA256 of that name
// under the profile's node-token key (pki/node-token.key, loadOrCreatePki), so the API server
// checks a token without keeping a table, and a token minted for one node never authenticates
// as another. The engine mints tokens for cluster admins (POST /kubedesk/v1/nodes/<name>/token);
// drivers hand them to the agents they start. An authenticated token is the user
// "system:node:<name>" in the group "system:nodes", which the node authorizer
// (node_authorizer.h) confines to that node's own objects. Tokens stay valid until the key file
// is deleted (the engine then makes a new one on its next start, revoking every token).
//
// Format: "kdn." + node name + "." + 64 hex digits of the MAC. Node names are DNS subdomains, so
// the last '.' separates the MAC.

#include <optional>
#include <string>
#include <string_view>

#include "engine/api/status.h"

namespace kd::server {

// A fresh random key, hex-encoded, for loadOrCreatePki.
Result<std::string> newNodeTokenKey();

std::string mintNodeToken(std::string_view key, std::string_view nodeName);

// The node `token` was minted for under `key`; nullopt for any other string.
std::optional<std::string> nodeOfToken(std::string_view key, std::string_view token);

}  // namespace kd::server
