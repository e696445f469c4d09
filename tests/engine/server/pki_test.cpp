#include "engine/server/pki.h"

#include <sys/stat.h>

#include <fstream>
#include <memory>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

using kd::server::loadOrCreatePki;
using kd::server::PkiFiles;

namespace {

namespace fs = std::filesystem;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr parseCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

EVP_PKEY* parseKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

// Verifies `leafPem` against the CA alone for an X509_PURPOSE_* purpose; returns the
// verification error text, empty on success.
std::string verifyAgainstCa(const std::string& caPem, const std::string& leafPem, int purpose) {
  X509Ptr ca = parseCert(caPem), leaf = parseCert(leafPem);
  if (!ca || !leaf) return "unparsable certificate";
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  std::string error;
  if (X509_verify_cert(ctx) != 1) {
    error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  }
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return error;
}

mode_t modeOf(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

void writeText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

const std::string& pemNamed(const PkiFiles& pki, const QString& name) {
  static const std::string kNone;
  if (name == "ca") return pki.caCertPem;
  if (name == "server") return pki.serverCertPem;
  if (name == "admin") return pki.adminCertPem;
  return kNone;
}

}  // namespace

class PkiTest : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  fs::path dir_;
  PkiFiles pki_;

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    dir_ = fs::path(tmp_.path().toStdString()) / "profile" / "pki";
    auto pki = loadOrCreatePki(dir_);
    QVERIFY2(pki.ok(), pki.status().message().c_str());
    pki_ = *pki;
  }

  void certificatesVerifyAgainstCaForTheirPurpose_data() {
    QTest::addColumn<QString>("cert");
    QTest::addColumn<int>("purpose");
    QTest::addColumn<bool>("valid");
    QTest::newRow("server for serverAuth") << "server" << X509_PURPOSE_SSL_SERVER << true;
    QTest::newRow("admin for clientAuth") << "admin" << X509_PURPOSE_SSL_CLIENT << true;
    QTest::newRow("server is not a client cert") << "server" << X509_PURPOSE_SSL_CLIENT << false;
    QTest::newRow("admin is not a server cert") << "admin" << X509_PURPOSE_SSL_SERVER << false;
  }
  void certificatesVerifyAgainstCaForTheirPurpose() {
    QFETCH(QString, cert);
    QFETCH(int, purpose);
    QFETCH(bool, valid);
    std::string error = verifyAgainstCa(pki_.caCertPem, pemNamed(pki_, cert), purpose);
    QVERIFY2(error.empty() == valid, error.c_str());
  }

  void caHasCaExtensions() {
    X509Ptr ca = parseCert(pki_.caCertPem);
    QVERIFY(ca);
    QCOMPARE(X509_check_ca(ca.get()), 1);
    uint32_t usage = X509_get_key_usage(ca.get());
    QVERIFY(usage & KU_KEY_CERT_SIGN);
    QVERIFY(usage & KU_CRL_SIGN);
    QVERIFY(usage & KU_DIGITAL_SIGNATURE);
    QVERIFY(X509_get0_subject_key_id(ca.get()) != nullptr);
    int critical = -1;
    auto* bc = static_cast<BASIC_CONSTRAINTS*>(
        X509_get_ext_d2i(ca.get(), NID_basic_constraints, &critical, nullptr));
    QVERIFY(bc);
    QVERIFY(bc->ca);
    QCOMPARE(critical, 1);
    BASIC_CONSTRAINTS_free(bc);
    int days = 0, seconds = 0;
    QVERIFY(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(ca.get()),
                           X509_get0_notAfter(ca.get())));
    QVERIFY2(days >= 3650 && days <= 3652, qPrintable(QString::number(days)));
  }

  void serverNamesAreInTheCertificate_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("present");
    for (const char* host : {"localhost", "kubernetes", "kubernetes.default.svc.cluster.local"}) {
      QTest::newRow(host) << host << true;
    }
    for (const char* ip : {"127.0.0.1", "::1", "10.96.0.1"}) QTest::newRow(ip) << ip << true;
    QTest::newRow("foreign host") << "example.com" << false;
    QTest::newRow("foreign ip") << "192.0.2.1" << false;
  }
  void serverNamesAreInTheCertificate() {
    QFETCH(QString, name);
    QFETCH(bool, present);
    X509Ptr server = parseCert(pki_.serverCertPem);
    QVERIFY(server);
    std::string n = name.toStdString();
    bool isIp = n.find_first_not_of("0123456789.:") == std::string::npos;
    int match = isIp ? X509_check_ip_asc(server.get(), n.c_str(), 0)
                     : X509_check_host(server.get(), n.c_str(), n.size(), 0, nullptr);
    QCOMPARE(match == 1, present);
  }

  void keysMatchCertificates() {
    std::pair<const std::string*, const std::string*> pairs[] = {
        {&pki_.caCertPem, &pki_.caKeyPem},
        {&pki_.serverCertPem, &pki_.serverKeyPem},
        {&pki_.adminCertPem, &pki_.adminKeyPem}};
    for (auto [certPem, keyPem] : pairs) {
      X509Ptr cert = parseCert(*certPem);
      EVP_PKEY* key = parseKey(*keyPem);
      QVERIFY(cert && key);
      QCOMPARE(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
      QCOMPARE(X509_check_private_key(cert.get(), key), 1);
      EVP_PKEY_free(key);
    }
    X509Ptr ca = parseCert(pki_.caCertPem);
    EVP_PKEY* serverKey = parseKey(pki_.serverKeyPem);
    QCOMPARE(X509_check_private_key(ca.get(), serverKey), 0);
    EVP_PKEY_free(serverKey);
    ERR_clear_error();
  }

  void secondLoadIsIdentical() {
    auto again = loadOrCreatePki(dir_);
    QVERIFY2(again.ok(), again.status().message().c_str());
    QCOMPARE(again->caCertPem, pki_.caCertPem);
    QCOMPARE(again->caKeyPem, pki_.caKeyPem);
    QCOMPARE(again->serverCertPem, pki_.serverCertPem);
    QCOMPARE(again->serverKeyPem, pki_.serverKeyPem);
    QCOMPARE(again->adminCertPem, pki_.adminCertPem);
    QCOMPARE(again->adminKeyPem, pki_.adminKeyPem);
  }

  void filesHaveTheirModes_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("mode");
    QTest::newRow("directory") << "" << 0700;
    for (const char* key : {"ca.key", "server.key", "admin.key"}) QTest::newRow(key) << key << 0600;
    for (const char* crt : {"ca.crt", "server.crt", "admin.crt"}) QTest::newRow(crt) << crt << 0644;
  }
  void filesHaveTheirModes() {
    QFETCH(QString, file);
    QFETCH(int, mode);
    fs::path path = file.isEmpty() ? dir_ : dir_ / file.toStdString();
    QCOMPARE(int(modeOf(path)), mode);
  }

  void subjectsAreRead() {
    auto admin = kd::server::subjectOfCertificate(pki_.adminCertPem);
    QCOMPARE(admin.commonName, std::string("kubedesk-admin"));
    QCOMPARE(admin.organization, std::string("system:masters"));
    auto server = kd::server::subjectOfCertificate(pki_.serverCertPem);
    QCOMPARE(server.commonName, std::string("kubedesk-apiserver"));
    QCOMPARE(server.organization, std::string());
    auto garbage = kd::server::subjectOfCertificate("not a certificate");
    QVERIFY(garbage.commonName.empty() && garbage.organization.empty());
  }

  void subjectIsReadFromDer() {
    X509Ptr admin = parseCert(pki_.adminCertPem);
    unsigned char* der = nullptr;
    int len = i2d_X509(admin.get(), &der);
    QVERIFY(len > 0);
    std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    QCOMPARE(kd::server::subjectOfCertificate(bytes).organization, std::string("system:masters"));
  }

  void nodeCertificateIsIssued() {
    auto node = kd::server::issueClientCertificate(pki_, "system:node:node-1", "system:nodes");
    QVERIFY2(node.ok(), node.status().message().c_str());
    auto subject = kd::server::subjectOfCertificate(node->first);
    QCOMPARE(subject.commonName, std::string("system:node:node-1"));
    QCOMPARE(subject.organization, std::string("system:nodes"));
    std::string error = verifyAgainstCa(pki_.caCertPem, node->first, X509_PURPOSE_SSL_CLIENT);
    QVERIFY2(error.empty(), error.c_str());
    X509Ptr cert = parseCert(node->first);
    EVP_PKEY* key = parseKey(node->second);
    QCOMPARE(X509_check_private_key(cert.get(), key), 1);
    EVP_PKEY_free(key);
  }

  void opensslCliVerifiesCertificates_data() {
    QTest::addColumn<QString>("file");
    QTest::newRow("server") << "server.crt";
    QTest::newRow("admin") << "admin.crt";
  }
  void opensslCliVerifiesCertificates() {
    QFETCH(QString, file);
    QProcess openssl;
    openssl.setWorkingDirectory(QString::fromStdString(dir_.string()));
    openssl.start("openssl", {"verify", "-CAfile", "ca.crt", file});
    QVERIFY(openssl.waitForFinished(30000));
    QString out = QString::fromUtf8(openssl.readAllStandardOutput());
    QCOMPARE(openssl.exitCode(), 0);
    QCOMPARE(out.trimmed(), file + ": OK");
  }

  void missingServerCertificateIsReissuedFromTheCa() {
    fs::path dir = fs::path(tmp_.path().toStdString()) / "reissue";
    auto first = loadOrCreatePki(dir);
    QVERIFY(first.ok());
    fs::remove(dir / "server.crt");
    auto second = loadOrCreatePki(dir);
    QVERIFY2(second.ok(), second.status().message().c_str());
    QCOMPARE(second->caCertPem, first->caCertPem);
    QCOMPARE(second->adminCertPem, first->adminCertPem);
    QVERIFY(second->serverCertPem != first->serverCertPem);
    QVERIFY(second->serverKeyPem != first->serverKeyPem);
    QVERIFY(
        verifyAgainstCa(second->caCertPem, second->serverCertPem, X509_PURPOSE_SSL_SERVER).empty());
  }

  void newCaReissuesEveryLeaf() {
    fs::path dir = fs::path(tmp_.path().toStdString()) / "newca";
    auto first = loadOrCreatePki(dir);
    QVERIFY(first.ok());
    fs::remove(dir / "ca.crt");
    auto second = loadOrCreatePki(dir);
    QVERIFY2(second.ok(), second.status().message().c_str());
    QVERIFY(second->caCertPem != first->caCertPem);
    QVERIFY(
        verifyAgainstCa(second->caCertPem, second->serverCertPem, X509_PURPOSE_SSL_SERVER).empty());
    QVERIFY(
        verifyAgainstCa(second->caCertPem, second->adminCertPem, X509_PURPOSE_SSL_CLIENT).empty());
  }

  void serialNumbersAreRandom() {
    fs::path dir = fs::path(tmp_.path().toStdString()) / "other";
    auto other = loadOrCreatePki(dir);
    QVERIFY(other.ok());
    X509Ptr a = parseCert(pki_.caCertPem), b = parseCert(other->caCertPem);
    QVERIFY(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())));
    BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(a.get()), nullptr);
    QVERIFY(BN_num_bits(serial) > 64);
    BN_free(serial);
  }

  void damagedFileIsNamedWithTheFix_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("content");
    QTest::newRow("garbage ca.crt") << "ca.crt"
                                    << "garbage";
    QTest::newRow("garbage ca.key") << "ca.key"
                                    << "garbage";
    QTest::newRow("garbage server.crt") << "server.crt"
                                        << "-----BEGIN CERTIFICATE-----\nxx\n";
    QTest::newRow("garbage admin.key") << "admin.key"
                                       << "";
  }
  void damagedFileIsNamedWithTheFix() {
    QFETCH(QString, file);
    QFETCH(QString, content);
    fs::path dir = fs::path(tmp_.path().toStdString()) / ("damaged-" + file.toStdString());
    QVERIFY(loadOrCreatePki(dir).ok());
    writeText(dir / file.toStdString(), content.toStdString());
    auto broken = loadOrCreatePki(dir);
    QVERIFY(!broken.ok());
    const std::string& message = broken.status().message();
    QVERIFY2(message.find((dir / file.toStdString()).string()) != std::string::npos,
             message.c_str());
    QVERIFY2(message.find("Delete the directory " + dir.string()) != std::string::npos,
             message.c_str());
  }

  void caKeyWithoutCertificateIsAnError() {
    fs::path dir = fs::path(tmp_.path().toStdString()) / "nokey";
    QVERIFY(loadOrCreatePki(dir).ok());
    fs::remove(dir / "ca.key");
    auto broken = loadOrCreatePki(dir);
    QVERIFY(!broken.ok());
    QVERIFY2(broken.status().message().find("ca.key") != std::string::npos,
             broken.status().message().c_str());
  }
};

QTEST_GUILESS_MAIN(PkiTest)
#include "pki_test.moc"
