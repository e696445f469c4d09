#pragma once
// The per-profile public key infrastructure: a CA generated on first start, a server
// certificate for 127.0.0.1 / ::1 / localhost signed by it, and an admin client certificate
// (CN=kubedesk-admin, O=system:masters) that goes into the kubeconfig. Keys are ECDSA P-256.
// Files live in one directory, private keys mode 0600; an existing set is reused as is.

#include <filesystem>
#include <string>

#include "engine/api/status.h"

namespace kd::server {

struct PkiFiles {
  std::string caCertPem;
  std::string caKeyPem;
  std::string serverCertPem;
  std::string serverKeyPem;
  std::string adminCertPem;
  std::string adminKeyPem;
  std::string nodeTokenKey;  // node-token.key: the HMAC key of node bearer tokens (node_token.h)
};

// Loads the PKI from `dir`, creating whatever is missing (ca.crt, ca.key, server.crt,
// server.key, admin.crt, admin.key, node-token.key).
Result<PkiFiles> loadOrCreatePki(const std::filesystem::path& dir);

// Issues a client certificate signed by the CA, e.g. for a node agent
// (CN=system:node:<name>, O=system:nodes). Returns {certPem, keyPem}.
Result<std::pair<std::string, std::string>> issueClientCertificate(const PkiFiles& pki,
                                                                   const std::string& commonName,
                                                                   const std::string& organization);

// The subject common name and organization of a PEM or DER client certificate, for
// authentication. Empty on a malformed certificate.
struct CertificateSubject {
  std::string commonName;
  std::string organization;
};
CertificateSubject subjectOfCertificate(const std::string& pem);

}  // namespace kd::server
