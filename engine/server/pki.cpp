#include "engine/server/pki.h"

#include "engine/server/node_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace kd::server {
namespace {

namespace fs = std::filesystem;

template <class T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;
using NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;

constexpr int kCaValidDays = 3650;
constexpr int kLeafValidDays = 3 * 365;
// Leaf certificates this close to expiry are re-issued from the CA on the next start.
constexpr long kRenewBeforeSeconds = 30L * 24 * 3600;
// Node VMs may run slightly behind the host clock; a notBefore in their future would fail.
constexpr long kBackdateSeconds = 5 * 60;

constexpr const char* kServerSans =
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
    "DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:::1,IP:10.96.0.1";

// Drains OpenSSL's error queue into the message so the failure names its real cause.
Status opensslError(const std::string& what) {
  std::string text = what;
  char buf[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buf, sizeof buf);
    text += text == what ? ": " : "; ";
    text += buf;
  }
  return Status::internal(text);
}

enum class Role { Ca, Server, Client };

struct CertSpec {
  Role role;
  std::string commonName;
  std::string organization;
  int validDays;
};

struct KeyPair {
  X509Ptr cert;
  PkeyPtr key;
};

std::vector<std::pair<int, std::string>> extensionsFor(Role role) {
  switch (role) {
    case Role::Ca:
      return {{NID_basic_constraints, "critical,CA:TRUE"},
              {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
              {NID_subject_key_identifier, "hash"}};
    case Role::Server:
      return {{NID_basic_constraints, "critical,CA:FALSE"},
              {NID_key_usage, "critical,digitalSignature"},
              {NID_ext_key_usage, "serverAuth"},
              {NID_subject_key_identifier, "hash"},
              {NID_authority_key_identifier, "keyid:always"},
              {NID_subject_alt_name, kServerSans}};
    case Role::Client:
      return {{NID_basic_constraints, "critical,CA:FALSE"},
              {NID_key_usage, "critical,digitalSignature"},
              {NID_ext_key_usage, "clientAuth"},
              {NID_authority_key_identifier, "keyid:always"}};
  }
  return {};
}

Result<PkeyPtr> generateKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return opensslError("generating an ECDSA P-256 key");
  return key;
}

Status setRandomSerial(X509* cert) {
  BnPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
    return opensslError("generating a certificate serial number");
  }
  if (!BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) {
    return opensslError("setting the certificate serial number");
  }
  return Status::ok();
}

Status setSubject(X509* cert, const CertSpec& spec) {
  NamePtr name(X509_NAME_new());
  if (!name) return opensslError("allocating a certificate subject");
  auto add = [&](const char* field, const std::string& value) {
    return value.empty() ||
           X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!add("O", spec.organization) || !add("CN", spec.commonName)) {
    return opensslError("building the subject for " + spec.commonName);
  }
  if (X509_set_subject_name(cert, name.get()) != 1) {
    return opensslError("setting the subject of " + spec.commonName);
  }
  return Status::ok();
}

Status setValidity(X509* cert, int validDays) {
  if (!X509_gmtime_adj(X509_getm_notBefore(cert), -kBackdateSeconds) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert), validDays, 0, nullptr)) {
    return opensslError("setting the certificate validity");
  }
  return Status::ok();
}

Status addExtensions(X509* cert, X509* issuer, Role role) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensionsFor(role)) {
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
      return opensslError(std::string("adding extension ") + OBJ_nid2sn(nid) + " = " + value);
    }
  }
  return Status::ok();
}

// Builds and signs a certificate for `key`. Without an issuer the certificate is self-signed.
Result<X509Ptr> buildCertificate(const CertSpec& spec, EVP_PKEY* key, X509* issuerCert,
                                 EVP_PKEY* issuerKey) {
  X509Ptr cert(X509_new());
  if (!cert) return opensslError("allocating a certificate");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return opensslError("setting the certificate version");
  }
  if (Status s = setRandomSerial(cert.get()); !s) return s;
  if (Status s = setValidity(cert.get(), spec.validDays); !s) return s;
  if (Status s = setSubject(cert.get(), spec); !s) return s;
  X509* issuer = issuerCert ? issuerCert : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1) {
    return opensslError("setting the issuer of " + spec.commonName);
  }
  if (X509_set_pubkey(cert.get(), key) != 1) {
    return opensslError("setting the public key of " + spec.commonName);
  }
  if (Status s = addExtensions(cert.get(), issuer, spec.role); !s) return s;
  if (X509_sign(cert.get(), issuerKey ? issuerKey : key, EVP_sha256()) == 0) {
    return opensslError("signing the certificate for " + spec.commonName);
  }
  return cert;
}

Result<KeyPair> issue(const CertSpec& spec, const KeyPair* ca) {
  auto key = generateKey();
  if (!key) return key.status();
  auto cert = buildCertificate(spec, key->get(), ca ? ca->cert.get() : nullptr,
                               ca ? ca->key.get() : nullptr);
  if (!cert) return cert.status();
  return KeyPair{std::move(*cert), std::move(*key)};
}

Result<std::string> bioContents(BIO* bio) {
  BUF_MEM* mem = nullptr;
  if (BIO_get_mem_ptr(bio, &mem) != 1 || !mem) return opensslError("reading a memory buffer");
  return std::string(mem->data, mem->length);
}

Result<std::string> certToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return opensslError("encoding a certificate as PEM");
  }
  return bioContents(bio.get());
}

Result<std::string> keyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return opensslError("encoding a private key as PEM");
  }
  return bioContents(bio.get());
}

BioPtr memoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Refuses instead of prompting on the terminal when a key turns out to be encrypted.
int noPassphrase(char*, int, int, void*) {
  return 0;
}

Result<X509Ptr> parseCertificate(const std::string& pem, const std::string& what) {
  BioPtr bio = memoryBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
  if (!cert) return opensslError(what + " is not a PEM certificate");
  return cert;
}

Result<PkeyPtr> parseKey(const std::string& pem, const std::string& what) {
  BioPtr bio = memoryBio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
  if (!key) return opensslError(what + " is not an unencrypted PEM private key");
  return key;
}

Result<KeyPair> parseKeyPair(const std::string& certPem, const std::string& keyPem,
                             const std::string& certWhat, const std::string& keyWhat) {
  auto cert = parseCertificate(certPem, certWhat);
  if (!cert) return cert.status();
  auto key = parseKey(keyPem, keyWhat);
  if (!key) return key.status();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return opensslError(keyWhat + " does not belong to " + certWhat);
  }
  return KeyPair{std::move(*cert), std::move(*key)};
}

// ---- files ----

struct FilePair {
  const char* cert;
  const char* key;
};
constexpr FilePair kCaFiles{"ca.crt", "ca.key"};
constexpr FilePair kServerFiles{"server.crt", "server.key"};
constexpr FilePair kAdminFiles{"admin.crt", "admin.key"};

Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  if (!in && !in.eof()) return Status::internal("cannot read " + path.string());
  return out.str();
}

// Written to a temporary file created with the final mode, then renamed, so a crash never
// leaves a truncated key or a key readable by others.
Status writeFileAtomically(const fs::path& path, const std::string& data, mode_t mode) {
  std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::internal("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return Status::internal("cannot write " + path.string() + ": " + std::strerror(err));
  }
  return Status::ok();
}

Status corruptFile(const fs::path& dir, const Status& cause) {
  return Status::internal("the KubeDesk PKI in " + dir.string() + " is damaged (" +
                          cause.message() + "). Delete the directory " + dir.string() +
                          " to have a new CA and certificates generated on the next start; "
                          "kubeconfig contexts made with the old CA must be merged again.");
}

Result<KeyPair> loadPair(const fs::path& dir, const FilePair& names) {
  fs::path certPath = dir / names.cert;
  fs::path keyPath = dir / names.key;
  auto certPem = readFile(certPath);
  if (!certPem) return certPem.status();
  auto keyPem = readFile(keyPath);
  if (!keyPem) return keyPem.status();
  auto pair = parseKeyPair(*certPem, *keyPem, certPath.string(), keyPath.string());
  if (!pair) return corruptFile(dir, pair.status());
  return pair;
}

// Key first, then certificate: a certificate on disk implies its key was fully written.
Status savePair(const fs::path& dir, const FilePair& names, const KeyPair& pair) {
  auto keyPem = keyToPem(pair.key.get());
  if (!keyPem) return keyPem.status();
  auto certPem = certToPem(pair.cert.get());
  if (!certPem) return certPem.status();
  if (Status s = writeFileAtomically(dir / names.key, *keyPem, 0600); !s) return s;
  return writeFileAtomically(dir / names.cert, *certPem, 0644);
}

bool expiresSoon(X509* cert) {
  time_t limit = time(nullptr) + kRenewBeforeSeconds;
  return X509_cmp_time(X509_get0_notAfter(cert), &limit) <= 0;
}

bool signedBy(X509* cert, EVP_PKEY* caKey) {
  bool ok = X509_verify(cert, caKey) == 1;
  ERR_clear_error();
  return ok;
}

Result<KeyPair> loadOrCreateCa(const fs::path& dir) {
  bool haveCert = fs::exists(dir / kCaFiles.cert);
  if (haveCert && !fs::exists(dir / kCaFiles.key)) {
    return corruptFile(dir, Status::notFound((dir / kCaFiles.key).string() + " is missing"));
  }
  if (haveCert) return loadPair(dir, kCaFiles);
  auto ca = issue({Role::Ca, "kubedesk-ca", "", kCaValidDays}, nullptr);
  if (!ca) return ca;
  if (Status s = savePair(dir, kCaFiles, *ca); !s) return s;
  return ca;
}

// Leaf certificates are derived from the CA: a missing, stale or foreign one is re-issued.
Result<KeyPair> loadOrIssueLeaf(const fs::path& dir, const FilePair& names, const CertSpec& spec,
                                const KeyPair& ca, bool caIsNew) {
  if (!caIsNew && fs::exists(dir / names.cert) && fs::exists(dir / names.key)) {
    auto leaf = loadPair(dir, names);
    if (!leaf) return leaf;
    if (signedBy(leaf->cert.get(), ca.key.get()) && !expiresSoon(leaf->cert.get())) return leaf;
  }
  auto leaf = issue(spec, &ca);
  if (!leaf) return leaf;
  if (Status s = savePair(dir, names, *leaf); !s) return s;
  return leaf;
}

Result<PkiFiles> toPem(const KeyPair& ca, const KeyPair& server, const KeyPair& admin) {
  PkiFiles files;
  std::pair<const KeyPair*, std::pair<std::string*, std::string*>> all[] = {
      {&ca, {&files.caCertPem, &files.caKeyPem}},
      {&server, {&files.serverCertPem, &files.serverKeyPem}},
      {&admin, {&files.adminCertPem, &files.adminKeyPem}}};
  for (auto& [pair, out] : all) {
    auto cert = certToPem(pair->cert.get());
    if (!cert) return cert.status();
    auto key = keyToPem(pair->key.get());
    if (!key) return key.status();
    *out.first = std::move(*cert);
    *out.second = std::move(*key);
  }
  return files;
}

Status ensurePrivateDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return Status::internal("cannot create " + dir.string() + ": " + ec.message());
  return Status::ok();
}

std::string readNameEntry(X509_NAME* name, int nid) {
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = data ? ASN1_STRING_to_UTF8(&utf8, data) : -1;
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

Result<std::string> loadOrCreateNodeTokenKey(const fs::path& dir) {
  const fs::path path = dir / "node-token.key";
  if (fs::exists(path)) {
    auto key = readFile(path);
    if (key && key->size() < 32)
      return corruptFile(dir, Status::internal(path.string() + " is too short"));
    return key;
  }
  auto key = newNodeTokenKey();
  if (!key) return key;
  if (Status s = writeFileAtomically(path, *key, 0600); !s) return s;
  return key;
}

}  // namespace

Result<PkiFiles> loadOrCreatePki(const std::filesystem::path& dir) {
  if (Status s = ensurePrivateDirectory(dir); !s) return s;
  bool caIsNew = !fs::exists(dir / kCaFiles.cert);
  auto ca = loadOrCreateCa(dir);
  if (!ca) return ca.status();
  auto server = loadOrIssueLeaf(
      dir, kServerFiles, {Role::Server, "kubedesk-apiserver", "", kLeafValidDays}, *ca, caIsNew);
  if (!server) return server.status();
  auto admin = loadOrIssueLeaf(dir, kAdminFiles,
                               {Role::Client, "kubedesk-admin", "system:masters", kLeafValidDays},
                               *ca, caIsNew);
  if (!admin) return admin.status();
  auto files = toPem(*ca, *server, *admin);
  if (!files) return files;
  auto key = loadOrCreateNodeTokenKey(dir);
  if (!key) return key.status();
  files->nodeTokenKey = std::move(*key);
  return files;
}

Result<std::pair<std::string, std::string>> issueClientCertificate(
    const PkiFiles& pki, const std::string& commonName, const std::string& organization) {
  if (commonName.empty()) return Status::badRequest("a client certificate needs a common name");
  auto ca = parseKeyPair(pki.caCertPem, pki.caKeyPem, "the CA certificate", "the CA key");
  if (!ca) return ca.status();
  auto leaf = issue({Role::Client, commonName, organization, kLeafValidDays}, &*ca);
  if (!leaf) return leaf.status();
  auto cert = certToPem(leaf->cert.get());
  if (!cert) return cert.status();
  auto key = keyToPem(leaf->key.get());
  if (!key) return key.status();
  return std::pair{std::move(*cert), std::move(*key)};
}

CertificateSubject subjectOfCertificate(const std::string& pem) {
  BioPtr bio = memoryBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
  if (!cert) {
    const auto* der = reinterpret_cast<const unsigned char*>(pem.data());
    cert.reset(d2i_X509(nullptr, &der, static_cast<long>(pem.size())));
  }
  ERR_clear_error();
  if (!cert) return {};
  X509_NAME* name = X509_get_subject_name(cert.get());
  return {readNameEntry(name, NID_commonName), readNameEntry(name, NID_organizationName)};
}

}  // namespace kd::server
