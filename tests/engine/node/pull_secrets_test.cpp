// The kubelet's image pull secrets: docker config parsing (dockerconfigjson, dockercfg, the
// "auth" field) and the keyring's matching of images to registry keys.

#include <QtTest>

#include "engine/api/base64.h"
#include "engine/node/pull_secrets.h"

using kd::json;
using kd::Status;
using kd::node::DockerKeyring;
using kd::node::RegistryCredential;

namespace {

// {"loc=user", ...} → a registry map whose entries are {username: user, password: user-pw}.
json registries(const QStringList& entries) {
  json map = json::object();
  for (const QString& e : entries) {
    const std::string user = e.section('=', 1).toStdString();
    map[e.section('=', 0, 0).toStdString()] = {{"username", user}, {"password", user + "-pw"}};
  }
  return map;
}

QString usernames(const std::vector<RegistryCredential>& credentials) {
  QStringList out;
  for (const auto& c : credentials) out << QString::fromStdString(c.username);
  return out.join(',');
}

json secret(const std::string& name, const std::string& type, const std::string& key,
            const std::string& config) {
  return {{"metadata", {{"name", name}}},
          {"type", type},
          {"data", {{key, kd::api::base64Encode(config)}}}};
}

json dockerConfigJson(const std::string& name, const json& auths) {
  return secret(name, "kubernetes.io/dockerconfigjson", ".dockerconfigjson",
                json{{"auths", auths}}.dump());
}

}  // namespace

class PullSecretsTest : public QObject {
  Q_OBJECT

 private slots:
  void lookup_data() {
    QTest::addColumn<QStringList>("entries");
    QTest::addColumn<QString>("image");
    QTest::addColumn<QString>("users");  // the credentials found, in order
    const QStringList host{"registry.example.com=a"};
    QTest::newRow("host") << host << "registry.example.com/app:1"
                          << "a";
    QTest::newRow("other host") << host << "other.example.com/app"
                                << "";
    QTest::newRow("scheme and /v2/ dropped")
        << QStringList{"https://registry.example.com/v2/=a"} << "registry.example.com/app"
        << "a";
    QTest::newRow("port") << QStringList{"127.0.0.1:5000=a"} << "127.0.0.1:5000/app"
                          << "a";
    QTest::newRow("other port") << QStringList{"127.0.0.1:5000=a"} << "127.0.0.1:5001/app"
                                << "";
    QTest::newRow("key without the image's port")
        << QStringList{"localhost=a"} << "localhost:5000/app"
        << "";
    QTest::newRow("key with a port the image lacks")
        << QStringList{"localhost:5000=a"} << "localhost/app"
        << "";
    QTest::newRow("path prefix") << QStringList{"quay.io/team=a"} << "quay.io/team/app"
                                 << "a";
    QTest::newRow("other path") << QStringList{"quay.io/team=a"} << "quay.io/other/app"
                                << "";
    QTest::newRow("most specific first")
        << QStringList{"quay.io=a", "quay.io/team=b", "quay.io/other=c"} << "quay.io/team/app:2"
        << "b,a";
    QTest::newRow("glob label") << QStringList{"*.example.com=a"} << "eu.example.com/app"
                                << "a";
    QTest::newRow("glob is one label") << QStringList{"*.example.com=a"} << "a.b.example.com/app"
                                       << "";
    QTest::newRow("glob needs a label") << QStringList{"*.example.com=a"} << "example.com/app"
                                        << "";
    QTest::newRow("glob with a port")
        << QStringList{"*.example.com:5000=a"} << "eu.example.com:5000/app"
        << "a";
    const QStringList hub{"https://index.docker.io/v1/=a"};
    QTest::newRow("docker hub: bare name") << hub << "busybox"
                                           << "a";
    QTest::newRow("docker hub: user repo") << hub << "me/app:1"
                                           << "a";
    QTest::newRow("docker hub: docker.io") << hub << "docker.io/me/app"
                                           << "a";
    QTest::newRow("docker hub: index.docker.io") << hub << "index.docker.io/me/app"
                                                 << "a";
    QTest::newRow("docker hub key is not for others") << hub << "quay.io/app"
                                                      << "";
    QTest::newRow("docker.io key") << QStringList{"docker.io=a"} << "busybox"
                                   << "a";
    QTest::newRow("a match beats the docker hub key")
        << QStringList{"https://index.docker.io/v1/=a", "docker.io/library=b"} << "busybox"
        << "b";
    QTest::newRow("an invalid image") << host << "UPPER/case"
                                      << "";
  }
  void lookup() {
    QFETCH(QStringList, entries);
    QFETCH(QString, image);
    QFETCH(QString, users);
    DockerKeyring keyring;
    QVERIFY(keyring.add(registries(entries)).isOk());
    QCOMPARE(usernames(keyring.lookup(image.toStdString())), users);
  }

  void entries_data() {
    QTest::addColumn<QString>("entry");     // JSON
    QTest::addColumn<QString>("expected");  // "user|password", or "error: <part of it>"
    const QString auth = QString::fromStdString(kd::api::base64Encode("u:p:q"));
    QTest::newRow("username and password") << "{\"username\":\"u\",\"password\":\"p\"}"
                                           << "u|p";
    QTest::newRow("auth, split at the first colon") << "{\"auth\":\"" + auth + "\"}"
                                                    << "u|p:q";
    QTest::newRow("auth wins") << "{\"username\":\"x\",\"password\":\"y\",\"auth\":\"" + auth +
                                      "\",\"email\":\"e@example.com\"}"
                               << "u|p:q";
    QTest::newRow("auth without a colon")
        << "{\"auth\":\"" + QString::fromStdString(kd::api::base64Encode("user")) + "\"}"
        << "error: must be formatted as base64(username:password)";
    QTest::newRow("auth not base64") << "{\"auth\":\"!!\"}"
                                     << "error: must be formatted as base64(username:password)";
    QTest::newRow("a number") << "{\"username\":1}"
                              << "error: username is not a string";
    QTest::newRow("not an object") << "\"u:p\""
                                   << "error: an entry is not an object";
  }
  void entries() {
    QFETCH(QString, entry);
    QFETCH(QString, expected);
    DockerKeyring keyring;
    const Status s = keyring.add({{"r.example.com", json::parse(entry.toStdString())}});
    if (expected.startsWith("error: ")) {
      QVERIFY(!s.isOk());
      QVERIFY2(QString::fromStdString(s.message()).contains(expected.mid(7)), s.message().c_str());
      QVERIFY(keyring.empty());
      return;
    }
    QVERIFY2(s.isOk(), s.message().c_str());
    const auto found = keyring.lookup("r.example.com/app");
    QCOMPARE(found.size(), size_t{1});
    QCOMPARE(QString::fromStdString(found[0].username + "|" + found[0].password), expected);
  }

  void secrets_data() {
    QTest::addColumn<QString>("type");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("config");
    QTest::addColumn<QString>("users");  // found for r.example.com/app, or "error: ..."
    const QString entry = "{\"r.example.com\":{\"username\":\"u\",\"password\":\"p\"}}";
    QTest::newRow("dockerconfigjson") << "kubernetes.io/dockerconfigjson"
                                      << ".dockerconfigjson"
                                      << "{\"auths\":" + entry + "}"
                                      << "u";
    QTest::newRow("dockercfg") << "kubernetes.io/dockercfg"
                               << ".dockercfg" << entry << "u";
    QTest::newRow("dockerconfigjson without auths") << "kubernetes.io/dockerconfigjson"
                                                    << ".dockerconfigjson"
                                                    << "{\"credsStore\":\"x\"}"
                                                    << "";
    QTest::newRow("an Opaque secret is ignored") << "Opaque"
                                                 << ".dockerconfigjson"
                                                 << "{\"auths\":" + entry + "}"
                                                 << "";
    QTest::newRow("the other type's key is ignored") << "kubernetes.io/dockercfg"
                                                     << ".dockerconfigjson"
                                                     << "{\"auths\":" + entry + "}"
                                                     << "";
    QTest::newRow("an empty config is ignored") << "kubernetes.io/dockerconfigjson"
                                                << ".dockerconfigjson"
                                                << ""
                                                << "";
    QTest::newRow("not JSON") << "kubernetes.io/dockerconfigjson"
                              << ".dockerconfigjson"
                              << "{auths"
                              << "error: secret \"s\": .dockerconfigjson: ";
    QTest::newRow("a bad entry") << "kubernetes.io/dockercfg"
                                 << ".dockercfg"
                                 << "{\"r.example.com\":{\"auth\":\"dXNlcg==\"}}"
                                 << "error: secret \"s\": r.example.com: unable to parse auth";
  }
  void secrets() {
    QFETCH(QString, type);
    QFETCH(QString, key);
    QFETCH(QString, config);
    QFETCH(QString, users);
    auto keyring = kd::node::keyringFromSecrets(
        {secret("s", type.toStdString(), key.toStdString(), config.toStdString())});
    if (users.startsWith("error: ")) {
      QVERIFY(!keyring.ok());
      QVERIFY2(QString::fromStdString(keyring.status().message()).startsWith(users.mid(7)),
               keyring.status().message().c_str());
      return;
    }
    QVERIFY2(keyring.ok(), keyring.status().message().c_str());
    QCOMPARE(usernames(keyring->lookup("r.example.com/app")), users);
  }

  void secretsKeepTheirOrder() {
    auto keyring = kd::node::keyringFromSecrets(
        {dockerConfigJson("first", registries({"r.example.com=a"})),
         dockerConfigJson("second",
                          registries({"https://r.example.com=b", "r.example.com/app=c"}))});
    QVERIFY2(keyring.ok(), keyring.status().message().c_str());
    QCOMPARE(usernames(keyring->lookup("r.example.com/app")), QString("c,a,b"));
  }

  void readsThePodsSecrets() {
    const json pod = {{"spec",
                       {{"imagePullSecrets",
                         {{{"name", "a"}},
                          {{"name", "gone"}},
                          {{"name", ""}},
                          {{"name", "b"}},
                          {{"name", "denied"}}}}}}};
    std::vector<std::string> asked;
    auto get = [&](const std::string& resource, const std::string& name) -> kd::Result<json> {
      asked.push_back(resource + "/" + name);
      if (name == "a") return dockerConfigJson("a", registries({"r.example.com=a"}));
      if (name == "b") return dockerConfigJson("b", registries({"r.example.com=b"}));
      if (name == "denied") return Status::forbidden("secrets \"denied\" is forbidden");
      return Status::notFound("secrets \"" + name + "\" not found");
    };
    const auto got = kd::node::readPullCredentials(pod, get);
    QCOMPARE(asked, (std::vector<std::string>{"secrets/a", "secrets/gone", "secrets/b",
                                              "secrets/denied"}));
    QCOMPARE(got.unreadable, (std::vector<std::string>{"gone", "denied"}));
    QCOMPARE(kd::node::unreadablePullSecretsMessage(got.unreadable),
             std::string("Unable to retrieve some image pull secrets (gone, denied); attempting "
                         "to pull the image may not succeed."));
    auto found = got.forImage("r.example.com/app:1");
    QVERIFY(found.ok());
    QCOMPARE(usernames(*found), QString("a,b"));
    QVERIFY(got.forImage("elsewhere.example.com/app")->empty());
  }

  void anInvalidSecretFailsThePull() {
    const json pod = {{"spec", {{"imagePullSecrets", {{{"name", "bad"}}}}}}};
    const auto got = kd::node::readPullCredentials(pod, [](const std::string&, const std::string&) {
      return kd::Result<json>(
          secret("bad", "kubernetes.io/dockerconfigjson", ".dockerconfigjson", "[]"));
    });
    QVERIFY(got.unreadable.empty());
    auto found = got.forImage("r.example.com/app");
    QVERIFY(!found.ok());
    QVERIFY2(found.status().message().find("secret \"bad\"") != std::string::npos,
             found.status().message().c_str());
  }

  void aPodWithoutSecrets() {
    const auto got = kd::node::readPullCredentials(json{{"spec", json::object()}}, {});
    QVERIFY(got.unreadable.empty());
    QVERIFY(got.forImage("busybox")->empty());
  }
};

QTEST_GUILESS_MAIN(PullSecretsTest)
#include "pull_secrets_test.moc"
