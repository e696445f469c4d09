// Pulls from a real registry: Debian's docker-registry on 127.0.0.1, filled with skopeo from
// the bundled busybox OCI layout. First the puller against the store directly (digests,
// sharing, image indexes, Bearer tokens), then end to end through the real engine, the real
// kubedesk-node and the real kubectl. The end-to-end part needs root.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "../../e2e/node_agent_process.h"
#include "engine/api/base64.h"
#include "engine/node/image_puller.h"
#include "engine/node/image_store.h"
#include "engine/node/pull_secrets.h"
#include "tests/support/loopback.h"

namespace fs = std::filesystem;
using kd::node::ImageStore;
using kd::testing::connectToLoopback;
using kd::testing::freePort;
using kd::testing::listenOnLoopback;

namespace {

const QString kBusyboxLayout = KD_BINARY_DIR "/images/busybox";
const char* kToken = "kd-test-token";

CommandResult run(const QString& program, const QStringList& args) {
  return runProgram(program, args, 60000);
}

void sendAll(int fd, const QByteArray& bytes) {
  for (qsizetype sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += n;
  }
}

QJsonObject readJson(const QString& file) {
  QFile f(file);
  f.open(QIODevice::ReadOnly);
  return QJsonDocument::fromJson(f.readAll()).object();
}

// Writes `bytes` as a blob of the OCI layout `dir`; returns its descriptor.
QJsonObject writeBlob(const QString& dir, const QByteArray& bytes, const QString& mediaType) {
  const QString hex = QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
  QFile f(dir + "/blobs/sha256/" + hex);
  f.open(QIODevice::WriteOnly);
  f.write(bytes);
  return {{"mediaType", mediaType}, {"digest", "sha256:" + hex}, {"size", bytes.size()}};
}

// A real docker-registry on a free loopback port, storing under `dir`.
class Registry {
 public:
  ~Registry() {
    process_.kill();
    process_.waitForFinished(5000);
  }
  bool start(const QString& dir) {
    dir_ = dir;
    port_ = freePort();
    QDir().mkpath(dir);
    QFile config(dir + "/config.yml");
    config.open(QIODevice::WriteOnly);
    config.write(("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                  "    rootdirectory: " +
                  dir + "/data\nhttp:\n  addr: " + host() + "\n")
                     .toUtf8());
    config.close();
    process_.setProcessChannelMode(QProcess::MergedChannels);
    process_.start("/usr/bin/docker-registry", {"serve", dir + "/config.yml"});
    if (!process_.waitForStarted(5000)) return false;
    for (int i = 0; i < 100; ++i) {
      const int fd = connectToLoopback(port_);
      if (fd >= 0) {
        ::close(fd);
        return true;
      }
      QThread::msleep(100);
    }
    return false;
  }
  QString host() const { return "127.0.0.1:" + QString::number(port_); }
  // Copies `source` (e.g. "oci:/dir:tag") to `repoTag` ("library/busybox:1.36") here.
  CommandResult push(const QString& source, const QString& repoTag, bool all = false) const {
    QStringList args = {"copy", "--dest-tls-verify=false"};
    if (all) args << "--all";
    return run("skopeo", args << source << "docker://" + host() + "/" + repoTag);
  }
  QString blobFile(const QString& digest) const {
    const QString hex = digest.mid(7);
    return dir_ + "/data/docker/registry/v2/blobs/sha256/" + hex.left(2) + "/" + hex + "/data";
  }
  QString log() { return QString::fromUtf8(process_.readAll()); }

 private:
  QProcess process_;
  QString dir_;
  uint16_t port_ = 0;
};

// The value of header `name` (case-insensitive) in a request head, or "".
QByteArray headerValue(const QByteArray& head, const QByteArray& name) {
  for (const QByteArray& line : head.split('\n')) {
    const qsizetype colon = line.indexOf(':');
    if (colon > 0 && line.left(colon).trimmed().toLower() == name.toLower())
      return line.mid(colon + 1).trimmed();
  }
  return {};
}

// An auth front for a registry: requests with the right Authorization are relayed to it, others
// get 401 and a challenge. Bearer works the way Docker Hub's auth does: the challenge names
// /token, which hands out a token to anyone, or, when `userPass` is set, only to requests
// carrying it as Basic auth. Basic asks for `userPass` as Basic auth on every request. A
// refusal says "authentication required" when no credentials came, "invalid username or
// password" when wrong ones did. One connection at a time, on a thread of its own.
class AuthGate {
 public:
  enum class Scheme { Bearer, Basic };
  explicit AuthGate(uint16_t upstream, Scheme scheme = Scheme::Bearer, QByteArray userPass = {})
      : upstream_(upstream), scheme_(scheme), userPass_(std::move(userPass)) {
    fd_ = listenOnLoopback(&port_);
    thread_ = std::thread([this] { loop(); });
  }
  ~AuthGate() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::atomic<int> tokensIssued{0}, challenged{0}, refused{0}, relayed{0};
  QString tokenQuery() {
    std::lock_guard lock(mu_);
    return tokenQuery_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval timeout{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      serve(c);
      ::close(c);
    }
  }

  void serve(int c) {
    QByteArray head;
    char buf[4096];
    while (!head.contains("\r\n\r\n")) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      head.append(buf, n);
    }
    const QByteArray target = head.split(' ').value(1);
    const QByteArray authorization = headerValue(head, "Authorization");
    const QByteArray basic = "Basic " + userPass_.toBase64();
    if (scheme_ == Scheme::Bearer && target.startsWith("/token")) {
      {
        std::lock_guard lock(mu_);
        tokenQuery_ = QString::fromUtf8(target.mid(target.indexOf('?') + 1));
      }
      if (!userPass_.isEmpty() && authorization != basic) return refuse(c, authorization, "");
      ++tokensIssued;
      return reply(c, "200 OK", "", QByteArray("{\"token\":\"") + kToken + "\"}");
    }
    if (authorization != (scheme_ == Scheme::Bearer ? "Bearer " + QByteArray(kToken) : basic)) {
      ++challenged;
      const QByteArray challenge =
          scheme_ == Scheme::Basic
              ? "WWW-Authenticate: Basic realm=\"kd-test\"\r\n"
              : "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:" + QByteArray::number(port_) +
                    "/token\",service=\"kd-test\",scope=\"repository:library/busybox:pull\"\r\n";
      return refuse(c, authorization, challenge);
    }
    ++relayed;
    const int u = connectToLoopback(upstream_);
    if (u < 0) return;
    sendAll(u, head);
    for (ssize_t n; (n = ::recv(u, buf, sizeof buf, 0)) > 0;) sendAll(c, QByteArray(buf, n));
    ::close(u);
  }

  void refuse(int c, const QByteArray& authorization, const QByteArray& challenge) {
    if (!authorization.isEmpty() && !authorization.startsWith("Bearer ")) ++refused;
    const QByteArray message = authorization.isEmpty() || authorization.startsWith("Bearer ")
                                   ? "authentication required"
                                   : "invalid username or password";
    reply(c, "401 Unauthorized", challenge,
          "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"" + message + "\"}]}");
  }

  static void reply(int c, const QByteArray& status, const QByteArray& headers,
                    const QByteArray& body) {
    sendAll(c, "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\n" + headers +
                   "Content-Length: " + QByteArray::number(body.size()) +
                   "\r\nConnection: close\r\n\r\n" + body);
  }

  uint16_t upstream_;
  Scheme scheme_;
  QByteArray userPass_;
  uint16_t port_ = 0;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  QString tokenQuery_;
  std::thread thread_;
};

// Adds a layer holding /big.bin (`bytes` pseudo-random bytes) to the docker-archive `tarball`,
// so that the archive is larger than the engine's 3 MiB request-body limit.
const char* kAddBigLayer =
    "import io, json, os, random, sys, tarfile\n"
    "path, size = sys.argv[1], int(sys.argv[2])\n"
    "src = tarfile.open(path)\n"
    "members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]\n"
    "src.close()\n"
    "layer = io.BytesIO()\n"
    "with tarfile.open(fileobj=layer, mode='w') as t:\n"
    "    info = tarfile.TarInfo('big.bin'); info.size = size; info.mode = 0o644\n"
    "    t.addfile(info, io.BytesIO(random.Random(7).randbytes(size)))\n"
    "out = tarfile.open(path, 'w')\n"
    "for m, data in members:\n"
    "    if m.name == 'manifest.json':\n"
    "        manifest = json.loads(data); manifest[0]['Layers'].append('big.tar')\n"
    "        data = json.dumps(manifest).encode(); m.size = len(data)\n"
    "    out.addfile(m, io.BytesIO(data) if data is not None else None)\n"
    "info = tarfile.TarInfo('big.tar'); info.size = len(layer.getvalue())\n"
    "out.addfile(info, io.BytesIO(layer.getvalue()))\n"
    "out.close()\n";

QByteArray podManifest(const QString& name, const QString& image, const QString& policy = {},
                       const QStringList& pullSecrets = {}, const QString& account = {}) {
  QJsonObject container{
      {"name", "main"}, {"image", image}, {"command", QJsonArray{"sleep", "3600"}}};
  if (!policy.isEmpty()) container["imagePullPolicy"] = policy;
  QJsonObject pod{{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"metadata", QJsonObject{{"name", name}}},
                  {"spec", QJsonObject{{"nodeName", "n1"},
                                       {"terminationGracePeriodSeconds", 1},
                                       {"containers", QJsonArray{container}}}}};
  if (!pullSecrets.isEmpty()) {
    QJsonArray refs;
    for (const QString& secret : pullSecrets) refs.append(QJsonObject{{"name", secret}});
    QJsonObject spec = pod["spec"].toObject();
    spec["imagePullSecrets"] = refs;
    pod["spec"] = spec;
  }
  if (!account.isEmpty()) {
    QJsonObject spec = pod["spec"].toObject();
    spec["serviceAccountName"] = account;
    pod["spec"] = spec;
  }
  return QJsonDocument(pod).toJson();
}

}  // namespace

class RegistryPullTest : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  Registry registry_;
  QString busyboxManifest_, busyboxConfig_, busyboxLayer_;
  std::unique_ptr<EngineProcess> engine_;
  std::unique_ptr<NodeAgentProcess> agent_;
  std::unique_ptr<AuthGate> privateGate_;  // Basic auth, kd:s3cret, for the end-to-end part

  QString path(const QString& sub) const { return tmp_.filePath(sub); }
  std::string image(const QString& repoTag) const {
    return (registry_.host() + "/" + repoTag).toStdString();
  }
  uint16_t registryPort() const { return registry_.host().section(':', 1).toUShort(); }
  std::unique_ptr<ImageStore> freshStore(const QString& name) const {
    auto store = std::make_unique<ImageStore>(path(name).toStdString());
    return store->open().isOk() ? std::move(store) : nullptr;
  }

  // --- end to end helpers ---------------------------------------------------------------
  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_->kubectl(args, input);
  }
  QString jsonpath(const QString& name, const QString& path) {
    return k({"get", "pod", name, "-o", "jsonpath=" + path}).out.trimmed();
  }
  QString events(const QString& pod) {
    return k({"get", "events", "--field-selector", "involvedObject.name=" + pod}).out;
  }
  // host:port of the Basic-auth front of the registry, started on first use.
  QString privateRegistry() {
    if (!privateGate_)
      privateGate_ =
          std::make_unique<AuthGate>(registryPort(), AuthGate::Scheme::Basic, "kd:s3cret");
    return "127.0.0.1:" + QString::number(privateGate_->port());
  }
  void requireCluster() {
    if (!engine_) QSKIP("the end-to-end part needs root (kubedesk-node)");
  }

 private slots:
  void initTestCase() {
    KD_VERIFY2(registry_.start(path("registry")), qPrintable(registry_.log()));
    const auto pushed = registry_.push("oci:" + kBusyboxLayout + ":latest", "library/busybox:1.36");
    KD_VERIFY2(pushed.exitCode == 0, qPrintable(pushed.err + pushed.out));
    const QJsonObject index = readJson(kBusyboxLayout + "/index.json");
    busyboxManifest_ = index["manifests"].toArray()[0].toObject()["digest"].toString();
    const QJsonObject manifest =
        readJson(kBusyboxLayout + "/blobs/sha256/" + busyboxManifest_.mid(7));
    busyboxConfig_ = manifest["config"].toObject()["digest"].toString();
    busyboxLayer_ = manifest["layers"].toArray()[0].toObject()["digest"].toString();
    if (::geteuid() != 0) return;
    engine_ = std::make_unique<EngineProcess>();
    KD_VERIFY2(engine_->start(), qPrintable(engine_->log()));
    agent_ = std::make_unique<NodeAgentProcess>(*engine_);
    QVERIFY(agent_->start());
  }

  void pullsIntoAFreshStore() {
    auto store = freshStore("fresh");
    QVERIFY(store);
    std::vector<std::string> progress;
    auto report = kd::node::pullImage(*store, image("library/busybox:1.36"), {},
                                      [&](const std::string& d, uint64_t, uint64_t) {
                                        if (progress.empty() || progress.back() != d)
                                          progress.push_back(d);
                                      });
    KD_VERIFY2(report.ok(), report.status().message().c_str());
    QCOMPARE(report->blobsFetched, 2);  // config and the one layer
    QCOMPARE(report->blobsShared, 0);
    QCOMPARE(QString::fromStdString(report->manifestDigest), busyboxManifest_);
    QVERIFY(report->imageSize > 1'000'000);
    QCOMPARE(progress.size(), size_t{2});
    auto found = store->find(image("library/busybox:1.36"));
    KD_VERIFY2(found.ok(), found.status().message().c_str());
    QCOMPARE(QString::fromStdString(found->configDigest), busyboxConfig_);
    QCOMPARE(found->imageId(), image("library/busybox") + "@" + busyboxManifest_.toStdString());
    QVERIFY(store->pulledFromRegistry(image("library/busybox:1.36")));
    // The gzip layer unpacks into a usable root filesystem.
    auto rootfs = store->prepareRootfs(*found, path("fresh-rootfs").toStdString());
    KD_VERIFY2(rootfs.ok(), rootfs.status().message().c_str());
    QVERIFY(fs::exists(*rootfs / "bin" / "busybox"));
    QVERIFY(ImageStore::releaseRootfs(path("fresh-rootfs").toStdString()).isOk());
  }

  void aStoredImageSharesItsLayers() {
    auto store = freshStore("shared");
    QVERIFY(store);
    QVERIFY(store->importOciLayout(kBusyboxLayout.toStdString()).ok());
    QVERIFY(!store->pulledFromRegistry("busybox"));
    auto report = kd::node::pullImage(*store, image("library/busybox:1.36"));
    KD_VERIFY2(report.ok(), report.status().message().c_str());
    QCOMPARE(report->blobsFetched, 0);
    QCOMPARE(report->blobsShared, 2);
    QVERIFY(store->find(image("library/busybox:1.36")).ok());
  }

  void pullPolicies_data() {
    QTest::addColumn<QString>("repoTag");
    QTest::addColumn<QString>("policy");
    QTest::addColumn<QString>("reason");  // "" when the image is there afterwards
    QTest::addColumn<bool>("pulls");
    QTest::newRow("IfNotPresent pulls a missing image") << "library/busybox:1.36"
                                                        << "IfNotPresent"
                                                        << "" << true;
    QTest::newRow("Never refuses a missing image") << "library/busybox:1.36"
                                                   << "Never"
                                                   << "ErrImageNeverPull" << false;
    QTest::newRow("a missing tag") << "library/busybox:nope"
                                   << "IfNotPresent"
                                   << "ErrImagePull" << true;
    QTest::newRow("a missing repository") << "library/absent:1"
                                          << "Always"
                                          << "ErrImagePull" << true;
  }
  void pullPolicies() {
    QFETCH(QString, repoTag);
    QFETCH(QString, policy);
    QFETCH(QString, reason);
    QFETCH(bool, pulls);
    auto store = freshStore("policy-" + QString::number(qHash(QTest::currentDataTag())));
    QVERIFY(store);
    bool pulling = false;
    kd::node::EnsureHooks hooks;
    hooks.beforePull = [&] { pulling = true; };
    const std::string name = image(repoTag);
    auto got = kd::node::ensureImage(*store, name,
                                     kd::node::pullPolicyOf(policy.toStdString(), name), hooks);
    QCOMPARE(QString::fromStdString(got.reason), reason);
    QCOMPARE(pulling, pulls);
    QCOMPARE(got.image.has_value(), reason.isEmpty());
    if (reason == "ErrImagePull") {
      // The registry's own words: "manifest unknown", "repository name not known to registry".
      KD_VERIFY2(got.message.find("unknown") != std::string::npos ||
                     got.message.find("not known") != std::string::npos,
                 got.message.c_str());
    }
  }

  void alwaysRefreshesPulledImagesOnly() {
    auto store = freshStore("always");
    QVERIFY(store);
    QVERIFY(store->importOciLayout(kBusyboxLayout.toStdString()).ok());
    int pulls = 0;
    kd::node::EnsureHooks hooks;
    hooks.beforePull = [&] { ++pulls; };
    using kd::node::PullPolicy;
    // The bundled image has no registry: Always uses it as it is.
    QVERIFY(kd::node::ensureImage(*store, "busybox", PullPolicy::Always, hooks).image);
    QCOMPARE(pulls, 0);
    const std::string name = image("library/busybox:1.36");
    QVERIFY(kd::node::ensureImage(*store, name, PullPolicy::Always, hooks).pulled);
    QVERIFY(kd::node::ensureImage(*store, name, PullPolicy::Always, hooks).pulled);
    QCOMPARE(pulls, 2);
    QVERIFY(!kd::node::ensureImage(*store, name, PullPolicy::IfNotPresent, hooks).pulled);
    QCOMPARE(pulls, 2);
  }

  void anIndexResolvesToLinuxAmd64() {
    // A layout whose one image is an index: arm64 first, then the real amd64 busybox.
    const QString dir = path("multi-layout");
    QVERIFY(run("cp", {"-r", kBusyboxLayout, dir}).exitCode == 0);
    const QString blobs = dir + "/blobs/sha256/";
    QJsonObject armConfig = readJson(blobs + busyboxConfig_.mid(7));
    armConfig["architecture"] = "arm64";
    const QJsonObject armConfigDesc =
        writeBlob(dir, QJsonDocument(armConfig).toJson(QJsonDocument::Compact),
                  "application/vnd.oci.image.config.v1+json");
    QJsonObject armManifest = readJson(blobs + busyboxManifest_.mid(7));
    armManifest["config"] = armConfigDesc;
    const QString manifestType = "application/vnd.oci.image.manifest.v1+json";
    QJsonObject armDesc =
        writeBlob(dir, QJsonDocument(armManifest).toJson(QJsonDocument::Compact), manifestType);
    armDesc["platform"] = QJsonObject{{"os", "linux"}, {"architecture", "arm64"}};
    QFile amdManifest(blobs + busyboxManifest_.mid(7));
    amdManifest.open(QIODevice::ReadOnly);
    QJsonObject amdDesc{{"mediaType", manifestType},
                        {"digest", busyboxManifest_},
                        {"size", amdManifest.size()},
                        {"platform", QJsonObject{{"os", "linux"}, {"architecture", "amd64"}}}};
    const QString indexType = "application/vnd.oci.image.index.v1+json";
    const QJsonObject index{{"schemaVersion", 2},
                            {"mediaType", indexType},
                            {"manifests", QJsonArray{armDesc, amdDesc}}};
    QJsonObject indexDesc =
        writeBlob(dir, QJsonDocument(index).toJson(QJsonDocument::Compact), indexType);
    indexDesc["annotations"] = QJsonObject{{"org.opencontainers.image.ref.name", "multi"}};
    QFile layoutIndex(dir + "/index.json");
    QVERIFY(layoutIndex.open(QIODevice::WriteOnly | QIODevice::Truncate));
    layoutIndex.write(
        QJsonDocument(QJsonObject{{"schemaVersion", 2}, {"manifests", QJsonArray{indexDesc}}})
            .toJson(QJsonDocument::Compact));
    layoutIndex.close();
    const auto pushed = registry_.push("oci:" + dir + ":multi", "library/multi:1", true);
    KD_VERIFY2(pushed.exitCode == 0, qPrintable(pushed.err + pushed.out));

    auto store = freshStore("multi");
    QVERIFY(store);
    auto report = kd::node::pullImage(*store, image("library/multi:1"));
    KD_VERIFY2(report.ok(), report.status().message().c_str());
    QCOMPARE(QString::fromStdString(report->manifestDigest), indexDesc["digest"].toString());
    QCOMPARE(report->blobsFetched, 2);  // the amd64 config and layer, nothing of arm64
    QVERIFY(!store->hasBlob(armConfigDesc["digest"].toString().toStdString()));
    auto found = store->find(image("library/multi:1"));
    KD_VERIFY2(found.ok(), found.status().message().c_str());
    QCOMPARE(QString::fromStdString(found->configDigest), busyboxConfig_);
    QCOMPARE(QString::fromStdString(found->manifestDigest), indexDesc["digest"].toString());
    // By the index's digest too.
    QVERIFY(store->find(image("library/multi@" + indexDesc["digest"].toString())).ok());
  }

  void aBearerTokenRegistry() {
    AuthGate gate(registryPort());
    const std::string name = "127.0.0.1:" + std::to_string(gate.port()) + "/library/busybox:1.36";
    auto store = freshStore("token");
    QVERIFY(store);
    auto report = kd::node::pullImage(*store, name);
    KD_VERIFY2(report.ok(), report.status().message().c_str());
    QCOMPARE(report->blobsFetched, 2);
    QCOMPARE(gate.challenged, 1);  // the token is reused for the blobs
    QCOMPARE(gate.tokensIssued, 1);
    QCOMPARE(gate.relayed, 3);  // manifest, config, layer
    const QString query = gate.tokenQuery();
    KD_VERIFY2(query.contains("service=kd-test") &&
                   query.contains("scope=repository%3Alibrary%2Fbusybox%3Apull"),
               qPrintable(query));
  }

  // Registries that need credentials, through ensureImage as the pod worker calls it.
  void credentialedPulls_data() {
    QTest::addColumn<bool>("basic");               // else Bearer with credentials on /token
    QTest::addColumn<QStringList>("credentials");  // "user:password", tried in turn
    QTest::addColumn<QString>("error");            // part of the ErrImagePull message; "" pulls
    QTest::addColumn<int>("refused");              // wrong credentials the gate saw
    for (const bool basic : {true, false}) {
      const QString scheme = basic ? "basic: " : "bearer: ";
      const QString refusal = basic ? "reading manifest 1.36 in " : "getting a pull token for ";
      QTest::addRow("%s", qPrintable(scheme + "right credentials"))
          << basic << QStringList{"kd:s3cret"} << "" << 0;
      QTest::addRow("%s", qPrintable(scheme + "wrong credentials"))
          << basic << QStringList{"kd:wrong"} << refusal + "127.0.0.1" << 1;
      QTest::addRow("%s", qPrintable(scheme + "wrong, then right"))
          << basic << QStringList{"kd:wrong", "kd:s3cret"} << "" << 1;
      QTest::addRow("%s", qPrintable(scheme + "every credential wrong"))
          << basic << QStringList{"kd:wrong", "other:s3cret"}
          << "invalid username or password, " + refusal << 2;
    }
    QTest::newRow("basic: no credentials")
        << true << QStringList{}
        << "the registry requires basic credentials, and none are "
           "configured"
        << 0;
    QTest::newRow("bearer: no credentials")
        << false << QStringList{} << "getting a pull token for 127.0.0.1" << 0;
  }
  void credentialedPulls() {
    QFETCH(bool, basic);
    QFETCH(QStringList, credentials);
    QFETCH(QString, error);
    QFETCH(int, refused);
    AuthGate gate(registryPort(), basic ? AuthGate::Scheme::Basic : AuthGate::Scheme::Bearer,
                  "kd:s3cret");
    const std::string name = "127.0.0.1:" + std::to_string(gate.port()) + "/library/busybox:1.36";
    auto store = freshStore("creds-" + QString::number(qHash(QTest::currentDataTag())));
    QVERIFY(store);
    std::vector<kd::node::RegistryCredential> tried;
    for (const QString& c : credentials) {
      tried.push_back({c.section(':', 0, 0).toStdString(), c.section(':', 1).toStdString()});
    }
    kd::node::EnsureHooks hooks;
    hooks.credentials = tried;
    auto got = kd::node::ensureImage(*store, name, kd::node::PullPolicy::IfNotPresent, hooks);
    QCOMPARE(gate.refused.load(), refused);
    if (!error.isEmpty()) {
      QCOMPARE(QString::fromStdString(got.reason), QString("ErrImagePull"));
      KD_VERIFY2(QString::fromStdString(got.message).contains(error), got.message.c_str());
      // Wrong credentials give the registry's own 401 message.
      KD_VERIFY2(
          refused == 0 || got.message.find("invalid username or password") != std::string::npos,
          got.message.c_str());
      QVERIFY(!store->find(name).ok());
      return;
    }
    KD_VERIFY2(got.image && got.pulled, got.message.c_str());
    QCOMPARE(gate.relayed.load(), 3);  // manifest, config, layer
    if (!basic) {
      QCOMPARE(gate.tokensIssued.load(), 1);
      KD_VERIFY2(gate.tokenQuery().contains("account=kd&"), qPrintable(gate.tokenQuery()));
    }
  }

  // A dockerconfigjson with several entries: the keyring picks the one for this registry and
  // repository, and the right credential is the first one tried.
  void matchingPicksTheRightEntry() {
    AuthGate gate(registryPort(), AuthGate::Scheme::Basic, "right:s3cret");
    const std::string port = std::to_string(gate.port());
    const auto entry = [](const std::string& user, const std::string& password) {
      return kd::json{{"auth", kd::api::base64Encode(user + ":" + password)}};
    };
    const kd::json auths = {
        {"127.0.0.1:" + port + "/library", entry("right", "s3cret")},
        {"127.0.0.1:" + port + "/other", entry("other-path", "x")},
        {"127.*.0.1:" + port, entry("glob", "x")},
        {"127.0.0.1", entry("no-port", "x")},
        {"http://127.0.0.1:" + std::to_string(registryPort()), entry("other-port", "x")},
        {"https://index.docker.io/v1/", entry("hub", "x")}};
    const kd::json secret = {
        {"metadata", {{"name", "regcred"}}},
        {"type", "kubernetes.io/dockerconfigjson"},
        {"data",
         {{".dockerconfigjson", kd::api::base64Encode(kd::json{{"auths", auths}}.dump())}}}};
    auto keyring = kd::node::keyringFromSecrets({secret});
    KD_VERIFY2(keyring.ok(), keyring.status().message().c_str());
    const std::string name = "127.0.0.1:" + port + "/library/busybox:1.36";
    const auto found = keyring->lookup(name);
    QStringList users;
    for (const auto& c : found) users << QString::fromStdString(c.username);
    QCOMPARE(users, (QStringList{"right", "glob"}));
    auto store = freshStore("matching");
    QVERIFY(store);
    kd::node::EnsureHooks hooks;
    hooks.credentials = found;
    auto got = kd::node::ensureImage(*store, name, kd::node::PullPolicy::IfNotPresent, hooks);
    KD_VERIFY2(got.pulled, got.message.c_str());
    QCOMPARE(gate.refused.load(), 0);
  }

  void aCorruptedBlobIsRejected() {
    Registry tampered;
    KD_VERIFY2(tampered.start(path("tampered")), qPrintable(tampered.log()));
    const auto pushed = tampered.push("oci:" + kBusyboxLayout + ":latest", "library/busybox:1");
    KD_VERIFY2(pushed.exitCode == 0, qPrintable(pushed.err + pushed.out));
    QFile blob(tampered.blobFile(busyboxLayer_));
    KD_VERIFY2(blob.open(QIODevice::ReadWrite), qPrintable(blob.fileName()));
    blob.seek(blob.size() / 2);
    blob.write("tampered");
    blob.close();
    auto store = freshStore("tampered-store");
    QVERIFY(store);
    const std::string name = (tampered.host() + "/library/busybox:1").toStdString();
    auto report = kd::node::pullImage(*store, name);
    QVERIFY(!report.ok());
    KD_VERIFY2(report.status().message().find("digest mismatch") != std::string::npos,
               report.status().message().c_str());
    QVERIFY(!store->hasBlob(busyboxLayer_.toStdString()));
    QVERIFY(!store->find(name).ok());
    QVERIFY(QDir(path("tampered-store/tmp")).isEmpty());
  }

  // --- end to end -------------------------------------------------------------------------

  void aPodRunsFromAPulledImage() {
    requireCluster();
    const QString img = registry_.host() + "/library/busybox:1.36";
    CMD_OK(k({"apply", "-f", "-"}, podManifest("pulled", img)));
    KD_VERIFY2(waitFor([&] { return jsonpath("pulled", "{.status.phase}") == "Running"; }, 60000),
               qPrintable(k({"get", "pod", "pulled", "-o", "yaml"}).out + agent_->log()));
    QCOMPARE(jsonpath("pulled", "{.status.containerStatuses[0].imageID}"),
             registry_.host() + "/library/busybox@" + busyboxManifest_);
    const QString ev = events("pulled");
    KD_VERIFY2(ev.contains("Pulling image \"" + img + "\""), qPrintable(ev));
    KD_VERIFY2(ev.contains(QRegularExpression("Successfully pulled image \"" +
                                              QRegularExpression::escape(img) +
                                              "\" in [0-9.]+m?s \\(.* including waiting\\)")),
               qPrintable(ev));
  }

  void aMissingTagBacksOff() {
    requireCluster();
    const QString img = registry_.host() + "/library/busybox:nope";
    CMD_OK(k({"apply", "-f", "-"}, podManifest("missingtag", img)));
    const QString waiting = "{.status.containerStatuses[0].state.waiting.";
    QStringList seen;
    KD_VERIFY2(waitFor(
                   [&] {
                     const QString r = jsonpath("missingtag", waiting + "reason}");
                     if (!r.isEmpty() && (seen.isEmpty() || seen.last() != r)) seen << r;
                     return r == "ImagePullBackOff";
                   },
                   30000),
               qPrintable(seen.join(',')));
    KD_VERIFY2(seen.contains("ErrImagePull") || seen.first() == "ImagePullBackOff",
               qPrintable(seen.join(',')));
    KD_VERIFY2(jsonpath("missingtag", waiting + "message}").contains("manifest unknown"),
               qPrintable(jsonpath("missingtag", waiting + "message}")));
    const QString describe = k({"describe", "pod", "missingtag"}).out;
    for (const char* expected : {"ImagePullBackOff", "Failed to pull image", "manifest unknown",
                                 "Error: ErrImagePull", "Back-off pulling image"}) {
      KD_VERIFY2(describe.contains(expected), qPrintable(expected + QString("\n") + describe));
    }
    QCOMPARE(jsonpath("missingtag", "{.status.phase}"), QString("Pending"));
  }

  void neverPullOfAMissingImage() {
    requireCluster();
    const QString img = registry_.host() + "/library/absent:1";
    CMD_OK(k({"apply", "-f", "-"}, podManifest("neverpull", img, "Never")));
    const QString waiting = "{.status.containerStatuses[0].state.waiting.";
    QVERIFY(waitFor(
        [&] { return jsonpath("neverpull", waiting + "reason}") == "ErrImageNeverPull"; }, 30000));
    QVERIFY(jsonpath("neverpull", waiting + "message}")
                .contains("is not present with pull policy of Never"));
    KD_VERIFY2(events("neverpull").contains("ErrImageNeverPull"), qPrintable(events("neverpull")));
    QVERIFY(!events("neverpull").contains("Pulling"));
  }

  // --- end to end with imagePullSecrets ----------------------------------------------------

  void aPodPullsWithItsImagePullSecret() {
    requireCluster();
    const QString server = privateRegistry();
    CMD_OK(k({"create", "secret", "docker-registry", "regcred", "--docker-server=" + server,
              "--docker-username=kd", "--docker-password=s3cret"}));
    const QString img = server + "/library/busybox:1.36";
    CMD_OK(k({"apply", "-f", "-"}, podManifest("withsecret", img, {}, {"regcred"})));
    const QString reason = "{.status.containerStatuses[0].state.waiting.reason}";
    QVERIFY(waitFor(
        [&] {
          return jsonpath("withsecret", "{.status.phase}") == "Running" ||
                 jsonpath("withsecret", reason) == "ImagePullBackOff";
        },
        60000));
    KD_VERIFY2(
        jsonpath("withsecret", "{.status.phase}") == "Running",
        qPrintable(k({"get", "pod", "withsecret", "-o", "yaml"}).out + events("withsecret")));
    KD_VERIFY2(events("withsecret").contains("Successfully pulled image \"" + img + "\""),
               qPrintable(events("withsecret")));
    QCOMPARE(privateGate_->refused.load(), 0);
  }

  // A pod that names no pull secret runs with its service account's (the ServiceAccount
  // admission copies them into the pod).
  void aPodPullsWithItsServiceAccountsPullSecret() {
    requireCluster();
    const QString server = privateRegistry();
    if (!k({"get", "secret", "regcred"}).out.contains("regcred")) {
      CMD_OK(k({"create", "secret", "docker-registry", "regcred", "--docker-server=" + server,
                "--docker-username=kd", "--docker-password=s3cret"}));
    }
    CMD_OK(k({"create", "serviceaccount", "puller"}));
    CMD_OK(k({"patch", "serviceaccount", "puller", "-p",
              "{\"imagePullSecrets\":[{\"name\":\"regcred\"}]}"}));
    CMD_OK(k({"apply", "-f", "-"},
             podManifest("viaaccount", server + "/library/busybox:1.36", "Always", {}, "puller")));
    QCOMPARE(jsonpath("viaaccount", "{.spec.imagePullSecrets[*].name}"), QString("regcred"));
    KD_VERIFY2(
        waitFor([&] { return jsonpath("viaaccount", "{.status.phase}") == "Running"; }, 60000),
        qPrintable(k({"get", "pod", "viaaccount", "-o", "yaml"}).out + events("viaaccount")));
  }

  void aWrongPullSecretBacksOff() {
    requireCluster();
    const QString server = privateRegistry();
    CMD_OK(k({"create", "secret", "docker-registry", "wrongcred", "--docker-server=" + server,
              "--docker-username=kd", "--docker-password=wrong"}));
    CMD_OK(k({"apply", "-f", "-"}, podManifest("wrongsecret", server + "/library/busybox:1.36",
                                               "Always", {"wrongcred"})));
    const QString waiting = "{.status.containerStatuses[0].state.waiting.";
    KD_VERIFY2(
        waitFor([&] { return jsonpath("wrongsecret", waiting + "reason}") == "ImagePullBackOff"; },
                30000),
        qPrintable(k({"get", "pod", "wrongsecret", "-o", "yaml"}).out + events("wrongsecret")));
    const QString message = jsonpath("wrongsecret", waiting + "message}");
    KD_VERIFY2(message.contains("invalid username or password"), qPrintable(message));
    QCOMPARE(jsonpath("wrongsecret", "{.status.phase}"), QString("Pending"));
  }

  void aMissingPullSecretIsReportedAndThePullGoesOn() {
    requireCluster();
    const QString img = registry_.host() + "/library/busybox:1.36";
    CMD_OK(k({"apply", "-f", "-"}, podManifest("nosecret", img, "Always", {"absent"})));
    KD_VERIFY2(waitFor([&] { return jsonpath("nosecret", "{.status.phase}") == "Running"; }, 60000),
               qPrintable(k({"get", "pod", "nosecret", "-o", "yaml"}).out));
    const QString ev = events("nosecret");
    KD_VERIFY2(ev.contains("FailedToRetrieveImagePullSecret") &&
                   ev.contains("Unable to retrieve some image pull secrets (absent); attempting to "
                               "pull the image may not succeed."),
               qPrintable(ev));
  }

  // kdctl image load|pull|rm|ls, through nodes/<node>/proxy/images to the agent's image store.
  void kdctlImageLoadPullAndRemove() {
    requireCluster();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("KUBECONFIG", engine_->kubeconfig());
    auto kdctl = [&](const QStringList& args) {
      return runWithEnvironment(KD_BINARY_DIR "/bin/kdctl", args, env, 120000);
    };
    auto listed = [&] { return kdctl({"image", "ls"}).out; };

    // load: a docker-archive of busybox plus a 6 MiB layer, streamed past the 3 MiB limit.
    const QString tarball = path("big.tar");
    auto copied = runProgram("skopeo", {"copy", "oci:" + kBusyboxLayout + ":latest",
                                        "docker-archive:" + tarball + ":example.test/big:v1"});
    KD_VERIFY2(copied.exitCode == 0, qPrintable(copied.err));
    auto grown = runProgram("python3", {"-c", kAddBigLayer, tarball, "6291456"});
    KD_VERIFY2(grown.exitCode == 0, qPrintable(grown.err));
    QVERIFY(QFileInfo(tarball).size() > 6 * 1024 * 1024);
    auto loaded = kdctl({"image", "load", tarball});
    KD_VERIFY2(loaded.exitCode == 0, qPrintable(loaded.out + loaded.err));
    KD_VERIFY2(
        loaded.out.contains("onto n1: 10% 20%") && loaded.out.contains("done: example.test/big:v1"),
        qPrintable(loaded.out));
    // The agent reports its images at once, not at its next 10 s status update.
    KD_VERIFY2(waitFor([&] { return listed().contains("example.test/big:v1"); }, 5000),
               qPrintable(listed()));
    // The loaded image runs (Never: only the node's store can have it), with the big layer.
    CMD_OK(k({"apply", "-f", "-"}, podManifest("bigpod", "example.test/big:v1", "Never")));
    KD_VERIFY2(waitFor([&] { return jsonpath("bigpod", "{.status.phase}") == "Running"; }, 60000),
               qPrintable(k({"get", "pod", "bigpod", "-o", "yaml"}).out));
    auto size = k({"exec", "bigpod", "--", "wc", "-c", "/big.bin"});
    KD_VERIFY2(size.out.startsWith("6291456"), qPrintable(size.out + size.err));

    // rm refuses while a pod uses the image; once it is gone, rm frees what only it used.
    auto refused = kdctl({"image", "rm", "example.test/big:v1"});
    QCOMPARE(refused.exitCode, 1);
    KD_VERIFY2(refused.err.contains("is in use by pod default/bigpod on this node"),
               qPrintable(refused.err));
    CMD_OK(k({"delete", "pod", "bigpod", "--grace-period=1", "--timeout=60s"}));
    const QString blobs = agent_->stateDir() + "/images/blobs/sha256";
    const qsizetype before = QDir(blobs).entryList(QDir::Files).size();
    KD_VERIFY2(waitFor(
                   [&] {
                     return kdctl({"image", "rm", "example.test/big:v1"}).exitCode == 0;
                   },
                   30000),
               qPrintable(kdctl({"image", "rm", "example.test/big:v1"}).err));
    // Its manifest, config and the big layer are gone; busybox's own blobs stay.
    KD_VERIFY2(QDir(blobs).entryList(QDir::Files).size() <= before - 2,
               qPrintable(QDir(blobs).entryList(QDir::Files).join(',')));
    QVERIFY(QFile::exists(blobs + "/" + busyboxLayer_.mid(7)));
    KD_VERIFY2(waitFor([&] { return !listed().contains("example.test/big:v1"); }, 5000),
               qPrintable(listed()));
    auto absent = kdctl({"image", "rm", "example.test/big:v1"});
    QCOMPARE(absent.exitCode, 1);
    KD_VERIFY2(absent.err.contains("is on none of the cluster's nodes"), qPrintable(absent.err));

    // load from standard input, an oci-archive this time.
    const QString oci = path("stdin.tar");
    copied = runProgram("skopeo", {"copy", "oci:" + kBusyboxLayout + ":latest",
                                   "oci-archive:" + oci + ":example.test/stdin:v2"});
    KD_VERIFY2(copied.exitCode == 0, qPrintable(copied.err));
    QProcess stdinLoad;
    stdinLoad.setProcessEnvironment(env);
    stdinLoad.setStandardInputFile(oci);
    stdinLoad.start(KD_BINARY_DIR "/bin/kdctl", {"image", "load", "-"});
    QVERIFY(stdinLoad.waitForFinished(60000));
    const QString stdinOut = QString::fromUtf8(stdinLoad.readAllStandardOutput());
    KD_VERIFY2(stdinLoad.exitCode() == 0 && stdinOut.contains("example.test/stdin:v2"),
               qPrintable(stdinOut + stdinLoad.readAllStandardError()));

    // pull: from the registry, with progress, then listed.
    const auto pushed = registry_.push("oci:" + kBusyboxLayout + ":latest", "library/kdctl:pull");
    KD_VERIFY2(pushed.exitCode == 0, qPrintable(pushed.err));
    const QString pulledName = registry_.host() + "/library/kdctl:pull";
    auto pulled = kdctl({"image", "pull", pulledName});
    KD_VERIFY2(pulled.exitCode == 0 && pulled.out.contains("Pulling " + pulledName + " on n1:") &&
                   pulled.out.contains("done: " + pulledName + " (" + busyboxManifest_.left(19)),
               qPrintable(pulled.out + pulled.err));
    KD_VERIFY2(waitFor([&] { return listed().contains(pulledName); }, 5000), qPrintable(listed()));
    auto missing = kdctl({"image", "pull", registry_.host() + "/library/nosuch:1"});
    QCOMPARE(missing.exitCode, 1);
    KD_VERIFY2(missing.out.contains("failed") &&
                   missing.err.contains("Error from server (NotFound)") &&
                   missing.err.contains("manifest unknown"),
               qPrintable(missing.out + missing.err));

    // The real kubectl reaches the same endpoint; an unknown node is a 404, not a hang.
    auto raw = k({"get", "--raw", "/api/v1/nodes/n1/proxy/images"});
    KD_VERIFY2(raw.exitCode == 0 && raw.out.contains(pulledName), qPrintable(raw.out + raw.err));
    auto nowhere = kdctl({"image", "load", tarball, "--node", "nosuch"});
    QCOMPARE(nowhere.exitCode, 1);
    KD_VERIFY2(nowhere.err.contains("nodes \"nosuch\" not found"), qPrintable(nowhere.err));
  }

  void cleanupTestCase() {
    if (!agent_) return;
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_->cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }
};

QTEST_GUILESS_MAIN(RegistryPullTest)
#include "registry_pull_test.moc"
