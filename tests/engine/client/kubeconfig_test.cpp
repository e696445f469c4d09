#include "engine/client/kubeconfig.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "engine/api/yaml_json.h"

using kd::json;
using kd::client::ClusterAccess;
using kd::client::loadClusterAccess;
using kd::client::mergeIntoKubeconfig;

namespace {

namespace fs = std::filesystem;

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nY2EgY2VydA==\n-----END CERTIFICATE-----\n";
const std::string kCertPem =
    "-----BEGIN CERTIFICATE-----\nYWRtaW4gY2VydA==\n-----END CERTIFICATE-----\n";
const std::string kKeyPem =
    "-----BEGIN PRIVATE KEY-----\nYWRtaW4ga2V5\n-----END PRIVATE KEY-----\n";

// base64 of the PEMs above, as kubectl would store them.
const std::string kCaData =
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClkyRWdZMlZ5ZEE9PQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";

// A kubeconfig as kubectl writes it, with fields KubeDesk does not know about.
const char* kOtherClusterYaml = R"(apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Zm9v
    proxy-url: http://proxy.example:3128
    server: https://prod.example:6443
  name: prod
contexts:
- context:
    cluster: prod
    namespace: web
    user: prod-admin
  name: prod
current-context: prod
extensions:
- extension:
    kept: true
  name: someone-elses
kind: Config
preferences:
  colors: true
users:
- name: prod-admin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      args:
      - token
      command: cloud-login
)";

ClusterAccess kubedeskAccess(int port = 6443) {
  ClusterAccess access;
  access.contextName = "kubedesk";
  access.server = "https://127.0.0.1:" + std::to_string(port);
  access.caPem = kCaPem;
  access.clientCertPem = kCertPem;
  access.clientKeyPem = kKeyPem;
  return access;
}

void writeText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

json readYaml(const fs::path& path) {
  auto docs = kd::api::parseYamlDocuments(readText(path));
  return docs.ok() && docs->size() == 1 ? docs->front() : json();
}

const json& named(const json& list, const std::string& name) {
  static const json kNull;
  for (const auto& entry : list) {
    if (entry.value("name", "") == name) return entry;
  }
  return kNull;
}

mode_t modeOf(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

QString q(const fs::path& path) {
  return QString::fromStdString(path.string());
}

int countFiles(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

class KubeconfigTest : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  int caseNumber_ = 0;
  fs::path dir_;  // fresh for every test function

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    // Nothing here may ever reach the real ~/.kube.
    qputenv("HOME", (tmp_.path() + "/home").toUtf8());
    qunsetenv("KUBECONFIG");
  }

  void init() {
    dir_ = fs::path(tmp_.path().toStdString()) / ("case" + std::to_string(++caseNumber_));
    fs::create_directories(dir_);
    qunsetenv("KUBECONFIG");
  }

  void mergeCreatesAMissingFileAsKubectlWritesIt() {
    fs::path file = dir_ / "nested" / ".kube" / "config";
    QVERIFY(mergeIntoKubeconfig(file, kubedeskAccess(), true).isOk());
    QCOMPARE(int(modeOf(file)), 0600);
    QCOMPARE(countFiles(file.parent_path()), 1);  // no temp or lock file left behind
    std::string expected =
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: " + kCaData +
        "\n    server: https://127.0.0.1:6443\n  name: kubedesk\n"
        "contexts:\n- context:\n    cluster: kubedesk\n    user: kubedesk\n"
        "  name: kubedesk\ncurrent-context: kubedesk\nkind: Config\n"
        "preferences: {}\nusers:\n- name: kubedesk\n  user:\n";
    std::string text = readText(file);
    QVERIFY2(text.rfind(expected, 0) == 0, text.c_str());
    auto access = loadClusterAccess(file, "");
    QVERIFY2(access.ok(), access.status().message().c_str());
    QCOMPARE(access->caPem, kCaPem);
    QCOMPARE(access->clientCertPem, kCertPem);
    QCOMPARE(access->clientKeyPem, kKeyPem);
  }

  void mergeKeepsOtherClustersAndUnknownFields() {
    fs::path file = dir_ / "config";
    writeText(file, kOtherClusterYaml);
    ::chmod(file.c_str(), 0644);
    json before = readYaml(file);
    QVERIFY(mergeIntoKubeconfig(file, kubedeskAccess(), false).isOk());
    json after = readYaml(file);
    QCOMPARE(int(modeOf(file)), 0600);
    for (const char* list : {"clusters", "users", "contexts"}) {
      QCOMPARE(after[list].size(), size_t(2));
    }
    QCOMPARE(named(after["clusters"], "prod"), named(before["clusters"], "prod"));
    QCOMPARE(named(after["users"], "prod-admin"), named(before["users"], "prod-admin"));
    QCOMPARE(named(after["contexts"], "prod"), named(before["contexts"], "prod"));
    QCOMPARE(after["extensions"], before["extensions"]);
    QCOMPARE(after["preferences"], before["preferences"]);
    QCOMPARE(after["current-context"], json("prod"));
    QCOMPARE(named(after["clusters"], "kubedesk")["cluster"]["server"],
             json("https://127.0.0.1:6443"));
  }

  void mergeAgainReplacesTheEntries() {
    fs::path file = dir_ / "config";
    ClusterAccess first = kubedeskAccess(1111);
    first.token = "old-token";
    first.insecureSkipTlsVerify = true;
    QVERIFY(mergeIntoKubeconfig(file, first, true).isOk());
    ClusterAccess second = kubedeskAccess(2222);
    second.namespaceName = "dev";
    QVERIFY(mergeIntoKubeconfig(file, second, false).isOk());
    json doc = readYaml(file);
    QCOMPARE(doc["clusters"].size(), size_t(1));
    QCOMPARE(doc["users"].size(), size_t(1));
    QCOMPARE(doc["contexts"].size(), size_t(1));
    const json& cluster = doc["clusters"][0]["cluster"];
    QCOMPARE(cluster["server"], json("https://127.0.0.1:2222"));
    QVERIFY(!cluster.contains("insecure-skip-tls-verify"));
    QVERIFY(!doc["users"][0]["user"].contains("token"));
    QCOMPARE(doc["contexts"][0]["context"]["namespace"], json("dev"));
    QCOMPARE(doc["current-context"], json("kubedesk"));
  }

  void makeCurrentSetsCurrentContext_data() {
    QTest::addColumn<bool>("existing");
    QTest::addColumn<bool>("makeCurrent");
    QTest::addColumn<QString>("expected");
    QTest::newRow("new file, not current") << false << false << "";
    QTest::newRow("new file, current") << false << true << "kubedesk";
    QTest::newRow("keeps the other current") << true << false << "prod";
    QTest::newRow("takes over current") << true << true << "kubedesk";
  }
  void makeCurrentSetsCurrentContext() {
    QFETCH(bool, existing);
    QFETCH(bool, makeCurrent);
    QFETCH(QString, expected);
    fs::path file = dir_ / "config";
    if (existing) writeText(file, kOtherClusterYaml);
    QVERIFY(mergeIntoKubeconfig(file, kubedeskAccess(), makeCurrent).isOk());
    QCOMPARE(readYaml(file)["current-context"], json(expected.toStdString()));
    auto contexts = kd::client::listContexts(file);
    QVERIFY(contexts.ok());
    if (!expected.isEmpty()) QCOMPARE(contexts->front(), expected.toStdString());
  }

  void removeDeletesOnlyThatName_data() {
    QTest::addColumn<bool>("kubedeskCurrent");
    QTest::addColumn<QString>("expectedCurrent");
    QTest::newRow("current is cleared") << true << "";
    QTest::newRow("other current is kept") << false << "prod";
  }
  void removeDeletesOnlyThatName() {
    QFETCH(bool, kubedeskCurrent);
    QFETCH(QString, expectedCurrent);
    fs::path file = dir_ / "config";
    writeText(file, kOtherClusterYaml);
    json before = readYaml(file);
    QVERIFY(mergeIntoKubeconfig(file, kubedeskAccess(), kubedeskCurrent).isOk());
    QVERIFY(kd::client::removeFromKubeconfig(file, "kubedesk").isOk());
    json after = readYaml(file);
    for (const char* list : {"clusters", "users", "contexts"}) QCOMPARE(after[list], before[list]);
    QCOMPARE(after["current-context"], json(expectedCurrent.toStdString()));
    QCOMPARE(int(modeOf(file)), 0600);
  }

  void kubeconfigListMergesAsKubectl_data() {
    QTest::addColumn<QString>("context");
    QTest::addColumn<QString>("expectedContext");
    QTest::addColumn<QString>("expectedServer");
    QTest::newRow("first file wins a shared name") << "shared"
                                                   << "shared"
                                                   << "https://first:1";
    QTest::newRow("second file adds names") << "only-second"
                                            << "only-second"
                                            << "https://second:2";
    QTest::newRow("current-context from the first file setting it") << ""
                                                                    << "only-second"
                                                                    << "https://second:2";
  }
  void kubeconfigListMergesAsKubectl() {
    QFETCH(QString, context);
    QFETCH(QString, expectedContext);
    QFETCH(QString, expectedServer);
    writeText(dir_ / "first",
              "clusters:\n- name: shared\n  cluster: {server: 'https://first:1'}\n"
              "contexts:\n- name: shared\n  context: {cluster: shared}\n");
    writeText(dir_ / "second",
              "clusters:\n- name: shared\n  cluster: {server: 'https://second:1'}\n"
              "- name: two\n  cluster: {server: 'https://second:2'}\n"
              "contexts:\n- name: shared\n  context: {cluster: two}\n"
              "- name: only-second\n  context: {cluster: two, namespace: ns2}\n"
              "current-context: only-second\n");
    std::string list = (dir_ / "missing").string() + ":" + (dir_ / "first").string() +
                       "::" + (dir_ / "second").string();
    qputenv("KUBECONFIG", QByteArray::fromStdString(list));
    auto access = loadClusterAccess(std::nullopt, context.toStdString());
    QVERIFY2(access.ok(), access.status().message().c_str());
    QCOMPARE(access->contextName, expectedContext.toStdString());
    QCOMPARE(access->server, expectedServer.toStdString());
    auto contexts = kd::client::listContexts(std::nullopt);
    QVERIFY(contexts.ok());
    QCOMPARE(*contexts, (std::vector<std::string>{"only-second", "shared"}));
  }

  void defaultPathFollowsKubectl_data() {
    QTest::addColumn<QString>("kubeconfigEnv");  // "-" means unset
    QTest::addColumn<QString>("existing");
    QTest::addColumn<QString>("expected");
    QTest::newRow("unset") << "-"
                           << ""
                           << "HOME/.kube/config";
    QTest::newRow("empty") << ""
                           << ""
                           << "HOME/.kube/config";
    QTest::newRow("first when none exists") << "DIR/a:DIR/b"
                                            << ""
                                            << "DIR/a";
    QTest::newRow("first existing") << "DIR/a:DIR/b"
                                    << "b"
                                    << "DIR/b";
    QTest::newRow("empty entries skipped") << ":DIR/c"
                                           << ""
                                           << "DIR/c";
  }
  void defaultPathFollowsKubectl() {
    QFETCH(QString, kubeconfigEnv);
    QFETCH(QString, existing);
    QFETCH(QString, expected);
    QString dir = QString::fromStdString(dir_.string());
    QString home = qEnvironmentVariable("HOME");
    if (kubeconfigEnv != "-") qputenv("KUBECONFIG", kubeconfigEnv.replace("DIR", dir).toUtf8());
    if (!existing.isEmpty()) writeText(dir_ / existing.toStdString(), "");
    expected.replace("DIR", dir).replace("HOME", home);
    QCOMPARE(QString::fromStdString(kd::client::defaultKubeconfigPath().string()), expected);
  }

  void filePathsAreRelativeToTheKubeconfig() {
    fs::path kubeDir = dir_ / "kube";
    writeText(kubeDir / "ca.pem", kCaPem);
    writeText(kubeDir / "certs" / "client.pem", kCertPem);
    writeText(dir_ / "elsewhere" / "client.key", kKeyPem);
    writeText(kubeDir / "token.txt", "file-token\n");
    writeText(kubeDir / "config",
              "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
              "    certificate-authority: ca.pem\n"
              "users:\n- name: u\n  user:\n    client-certificate: certs/client.pem\n"
              "    client-key: " +
                  (dir_ / "elsewhere" / "client.key").string() +
                  "\n    tokenFile: token.txt\n"
                  "contexts:\n- name: x\n  context: {cluster: c, user: u, namespace: apps}\n");
    auto access = loadClusterAccess(kubeDir / "config", "x");
    QVERIFY2(access.ok(), access.status().message().c_str());
    QCOMPARE(access->caPem, kCaPem);
    QCOMPARE(access->clientCertPem, kCertPem);
    QCOMPARE(access->clientKeyPem, kKeyPem);
    QCOMPARE(access->token, std::string("file-token"));
    QCOMPARE(access->namespaceName, std::string("apps"));
    QCOMPARE(access->clusterName, std::string("c"));
    QCOMPARE(access->userName, std::string("u"));
  }

  void inlineDataWinsOverFiles() {
    writeText(dir_ / "config",
              "clusters:\n- name: c\n  cluster:\n    server: https://h:1\n"
              "    certificate-authority: does-not-exist.pem\n"
              "    certificate-authority-data: " +
                  kCaData +
                  "\nusers:\n- name: u\n  user: {token: inline, tokenFile: nope}\n"
                  "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                  "current-context: x\n");
    auto access = loadClusterAccess(dir_ / "config", "");
    QVERIFY2(access.ok(), access.status().message().c_str());
    QCOMPARE(access->caPem, kCaPem);
    QCOMPARE(access->token, std::string("inline"));
  }

  // A VM reaches the host's API server at its gateway address; tls-server-name names what the
  // certificate says. kubectl must read our field as its own.
  void tlsServerNameRoundTripsAndKubectlKnowsIt() {
    fs::path file = dir_ / "config";
    ClusterAccess access = kubedeskAccess();
    access.server = "https://10.0.2.2:6443";
    access.tlsServerName = "127.0.0.1";
    QVERIFY(mergeIntoKubeconfig(file, access, true).isOk());
    QCOMPARE(named(readYaml(file)["clusters"], "kubedesk")["cluster"].value("tls-server-name", ""),
             std::string("127.0.0.1"));
    auto loaded = loadClusterAccess(file, "");
    QVERIFY2(loaded.ok(), loaded.status().message().c_str());
    QCOMPARE(loaded->tlsServerName, std::string("127.0.0.1"));
    QCOMPARE(loaded->server, std::string("https://10.0.2.2:6443"));

    QProcess kubectl;
    kubectl.start("/usr/bin/kubectl", {"--kubeconfig", q(file), "config", "view", "-o",
                                       "jsonpath={.clusters[0].cluster.tls-server-name}"});
    QVERIFY(kubectl.waitForFinished(30000));
    QCOMPARE(kubectl.readAllStandardOutput(), QByteArray("127.0.0.1"));

    writeText(file,
              "clusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
              "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n");
    auto unset = loadClusterAccess(file, "");
    QVERIFY2(unset.ok(), unset.status().message().c_str());
    QCOMPARE(unset->tlsServerName, std::string());
  }

  void errorsNameWhatIsWrongAndWhere_data() {
    QTest::addColumn<QString>("yaml");
    QTest::addColumn<QString>("context");
    QTest::addColumn<QStringList>("mentions");
    QTest::newRow("missing context") << "contexts:\n- name: a\n  context: {cluster: a}\n"
                                     << "nope" << QStringList{"context \"nope\"", "FILE"};
    QTest::newRow("no current context") << "kind: Config\n"
                                        << "" << QStringList{"current-context", "FILE"};
    QTest::newRow("missing cluster") << "contexts:\n- name: a\n  context: {cluster: gone}\n"
                                     << "a" << QStringList{"cluster \"gone\"", "FILE"};
    QTest::newRow("malformed yaml") << "clusters:\n- name: a\n  cluster: [x\nusers: []\n"
                                    << "a" << QStringList{"FILE", "line "};
    QTest::newRow("missing referenced file")
        << "clusters:\n- name: a\n  cluster: {server: 'https://h', certificate-authority: ca}\n"
           "contexts:\n- name: a\n  context: {cluster: a}\n"
        << "a" << QStringList{"certificate-authority", "DIR/ca"};
    QTest::newRow("bad base64")
        << "clusters:\n- name: a\n  cluster: {server: 'https://h', "
           "certificate-authority-data: '#!'}\ncontexts:\n- name: a\n  context: {cluster: a}\n"
        << "a" << QStringList{"certificate-authority-data", "FILE"};
  }
  void errorsNameWhatIsWrongAndWhere() {
    QFETCH(QString, yaml);
    QFETCH(QString, context);
    QFETCH(QStringList, mentions);
    fs::path file = dir_ / "config";
    writeText(file, yaml.toStdString());
    auto access = loadClusterAccess(file, context.toStdString());
    QVERIFY(!access.ok());
    QString message = QString::fromStdString(access.status().message());
    for (QString mention : mentions) {
      mention.replace("FILE", QString::fromStdString(file.string()))
          .replace("DIR", QString::fromStdString(dir_.string()));
      QVERIFY2(message.contains(mention), qPrintable(message + " lacks " + mention));
    }
  }

  void malformedFileIsNotOverwritten() {
    fs::path file = dir_ / "config";
    writeText(file, "clusters: [\n");
    kd::Status status = mergeIntoKubeconfig(file, kubedeskAccess(), true);
    QVERIFY(!status.isOk());
    QVERIFY2(status.message().find("line 2") != std::string::npos, status.message().c_str());
    QCOMPARE(readText(file), std::string("clusters: [\n"));
  }

  void kubectlReadsWhatWeWrite() {
    fs::path file = dir_ / "config";
    QVERIFY(runKubectl({"config", "set-cluster", "prod", "--server=https://prod.example:6443",
                        "--kubeconfig", q(file)})
                .has_value());
    QVERIFY(runKubectl({"config", "set-context", "prod", "--cluster=prod", "--namespace=web",
                        "--kubeconfig", q(file)})
                .has_value());
    ClusterAccess access = kubedeskAccess(16443);
    access.namespaceName = "apps";
    access.clientCertPem = kCertPem + std::string(3000, 'Q') + "\n";  // a realistic length
    QVERIFY(mergeIntoKubeconfig(file, access, true).isOk());
    auto out = runKubectl({"config", "view", "--kubeconfig", q(file), "-o", "json", "--raw"});
    QVERIFY(out.has_value());
    json view = json::parse(*out);
    QCOMPARE(view["current-context"], json("kubedesk"));
    const json& cluster = named(view["clusters"], "kubedesk")["cluster"];
    QCOMPARE(cluster["server"], json("https://127.0.0.1:16443"));
    QCOMPARE(cluster["certificate-authority-data"], json(kCaData));
    const json& user = named(view["users"], "kubedesk")["user"];
    QCOMPARE(user["client-certificate-data"],
             named(readYaml(file)["users"], "kubedesk")["user"]["client-certificate-data"]);
    QCOMPARE(user["client-key-data"],
             named(readYaml(file)["users"], "kubedesk")["user"]["client-key-data"]);
    QCOMPARE(named(view["contexts"], "kubedesk")["context"]["namespace"], json("apps"));
    QCOMPARE(named(view["clusters"], "prod")["cluster"]["server"],
             json("https://prod.example:6443"));
    // kubectl rewriting the file with a no-op change produces the very same bytes.
    fs::path copy = dir_ / "copy";
    fs::copy_file(file, copy);
    QVERIFY(runKubectl(
                {"config", "set-context", "kubedesk", "--namespace=apps", "--kubeconfig", q(copy)})
                .has_value());
    QCOMPARE(readText(copy), readText(file));
    // And what kubectl wrote, we read.
    auto prod = loadClusterAccess(file, "prod");
    QVERIFY2(prod.ok(), prod.status().message().c_str());
    QCOMPARE(prod->server, std::string("https://prod.example:6443"));
    QCOMPARE(prod->namespaceName, std::string("web"));
    auto ours = loadClusterAccess(file, "kubedesk");
    QVERIFY(ours.ok());
    QCOMPARE(ours->clientCertPem, access.clientCertPem);
  }

  void lockedFileIsLeftAlone() {
    fs::path file = dir_ / "config";
    writeText(file, kOtherClusterYaml);
    writeText(dir_ / "config.lock", "");
    kd::Status status = mergeIntoKubeconfig(file, kubedeskAccess(), true);
    QVERIFY(!status.isOk());
    QVERIFY2(status.message().find("config.lock") != std::string::npos, status.message().c_str());
    QCOMPARE(readText(file), std::string(kOtherClusterYaml));
    QVERIFY(fs::exists(dir_ / "config.lock"));  // someone else's lock is not ours to remove
  }

  void symlinkedFileIsEditedInPlace() {
    fs::path target = dir_ / "dotfiles" / "kubeconfig";
    writeText(target, kOtherClusterYaml);
    fs::create_directories(dir_ / ".kube");
    fs::create_symlink(target, dir_ / ".kube" / "config");
    QVERIFY(mergeIntoKubeconfig(dir_ / ".kube" / "config", kubedeskAccess(), true).isOk());
    QVERIFY(fs::is_symlink(dir_ / ".kube" / "config"));
    QCOMPARE(readYaml(target)["current-context"], json("kubedesk"));
  }

 private:
  // Runs the real kubectl with HOME inside the temporary directory; the output, or nothing
  // when it failed.
  std::optional<std::string> runKubectl(const QStringList& args) {
    QProcess kubectl;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("HOME", qEnvironmentVariable("HOME"));
    env.remove("KUBECONFIG");
    kubectl.setProcessEnvironment(env);
    kubectl.start("/usr/bin/kubectl", args);
    if (!kubectl.waitForFinished(60000) || kubectl.exitCode() != 0) {
      qWarning() << "kubectl" << args << "failed:" << kubectl.readAllStandardError();
      return std::nullopt;
    }
    return kubectl.readAllStandardOutput().toStdString();
  }
};

QTEST_GUILESS_MAIN(KubeconfigTest)
#include "kubeconfig_test.moc"
