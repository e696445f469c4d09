// The agent's token manager: what it asks the API server for, when it asks again (80% of a
// token's lifetime, as the kubelet), what it serves when asking fails; and a token volume
// written by prepareVolumes with it.

#include "engine/node/service_account_tokens.h"

#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "engine/node/timestamps.h"
#include "engine/node/volumes.h"

using kd::json;
using kd::node::ServiceAccountTokenManager;
using Clock = std::chrono::system_clock;
using std::chrono::seconds;

namespace {

// A requester standing in for the API server's endpoint: numbered tokens valid for what was
// asked, every request kept; `fail` makes it answer an error.
struct Issuer {
  Clock::time_point* now;
  std::vector<std::pair<std::string, json>> requests;
  bool fail = false;

  ServiceAccountTokenManager::Requester requester() {
    return [this](const std::string& ns, const std::string& account,
                  const json& request) -> kd::Result<json> {
      requests.emplace_back(ns + "/" + account, request);
      if (fail) return kd::Status::serviceUnavailable("engine away");
      json answer = request;
      const int64_t ttl = request["spec"]["expirationSeconds"];
      answer["status"] = {{"token", "t" + std::to_string(requests.size())},
                          {"expirationTimestamp", kd::node::formatTime(*now + seconds(ttl))}};
      return answer;
    };
  }
};

json pod() {
  return {{"metadata", {{"name", "web"}, {"namespace", "apps"}, {"uid", "u1"}}},
          {"spec", {{"serviceAccountName", "builder"}}}};
}

}  // namespace

class ServiceAccountTokensTest : public QObject {
  Q_OBJECT

 private slots:
  void asksForATokenBoundToThePod() {
    Clock::time_point now = Clock::now();
    Issuer issuer{&now};
    ServiceAccountTokenManager tokens(issuer.requester(), [&] { return now; });
    auto token = tokens.token(pod(), {{"path", "token"}, {"expirationSeconds", 3607}});
    QVERIFY(token.ok());
    QCOMPARE(*token, std::string("t1"));
    QCOMPARE(issuer.requests.size(), size_t{1});
    QCOMPARE(issuer.requests[0].first, std::string("apps/builder"));
    const json spec = issuer.requests[0].second["spec"];
    QCOMPARE(spec["expirationSeconds"], json(3607));
    QCOMPARE(spec["audiences"], json::array());
    QCOMPARE(spec["boundObjectRef"],
             json({{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", "web"}, {"uid", "u1"}}));

    // Another audience is another token.
    QCOMPARE(*tokens.token(pod(), {{"path", "t"}, {"audience", "vault"}}), std::string("t2"));
    QCOMPARE(issuer.requests[1].second["spec"]["audiences"], json({"vault"}));
  }

  void forgetsTheTokensOfATornDownPod() {
    Clock::time_point now = Clock::now();
    Issuer issuer{&now};
    ServiceAccountTokenManager tokens(issuer.requester(), [&] { return now; });
    json other = pod();
    other["metadata"]["uid"] = "u10";  // shares the prefix "u1" but not the pod
    QCOMPARE(*tokens.token(pod(), {{"path", "token"}}), std::string("t1"));
    QCOMPARE(*tokens.token(other, {{"path", "token"}}), std::string("t2"));
    tokens.forgetPod("u1");
    QCOMPARE(*tokens.token(other, {{"path", "token"}}), std::string("t2"));  // still cached
    QCOMPARE(*tokens.token(pod(), {{"path", "token"}}), std::string("t3"));  // asked again
    QCOMPARE(issuer.requests.size(), size_t{3});
  }

  void refreshesAtEightyPercentOfTheLifetime() {
    Clock::time_point now = Clock::now();
    Issuer issuer{&now};
    ServiceAccountTokenManager tokens(issuer.requester(), [&] { return now; });
    const json projection = {{"path", "token"}, {"expirationSeconds", 1000}};
    QCOMPARE(*tokens.token(pod(), projection), std::string("t1"));
    now += seconds(799);
    QCOMPARE(*tokens.token(pod(), projection), std::string("t1"));
    now += seconds(1);
    QCOMPARE(*tokens.token(pod(), projection), std::string("t2"));
    QCOMPARE(issuer.requests.size(), size_t{2});
  }

  void servesTheOldTokenWhileItIsValidWhenAskingFails() {
    Clock::time_point now = Clock::now();
    Issuer issuer{&now};
    ServiceAccountTokenManager tokens(issuer.requester(), [&] { return now; });
    const json projection = {{"path", "token"}, {"expirationSeconds", 1000}};
    QCOMPARE(*tokens.token(pod(), projection), std::string("t1"));
    issuer.fail = true;
    now += seconds(900);
    QCOMPARE(*tokens.token(pod(), projection), std::string("t1"));
    now += seconds(100);  // expired
    auto token = tokens.token(pod(), projection);
    QVERIFY(!token.ok());
    QCOMPARE(token.status().message(), std::string("failed to fetch token: engine away"));
  }

  void projectedVolumeHoldsTokenCaAndNamespace() {
    QTemporaryDir dir;
    Clock::time_point now = Clock::now();
    Issuer issuer{&now};
    ServiceAccountTokenManager tokens(issuer.requester(), [&] { return now; });
    json p = pod();
    p["spec"]["volumes"] = json::parse(
        "[{\"name\":\"kube-api-access-abcde\",\"projected\":{\"defaultMode\":420,\"sources\":["
        "{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
        "{\"configMap\":{\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}],"
        "\"name\":\"kube-root-ca.crt\"}},"
        "{\"downwardAPI\":{\"items\":[{\"fieldRef\":{\"apiVersion\":\"v1\","
        "\"fieldPath\":\"metadata.namespace\"},\"path\":\"namespace\"}]}}]}}]");
    auto get = [](const std::string& resource, const std::string& name) -> kd::Result<json> {
      if (resource == "configmaps" && name == "kube-root-ca.crt") {
        return json{{"data", {{"ca.crt", "PEM"}}}};
      }
      return kd::Status::notFound(resource + " \"" + name + "\" not found");
    };
    auto paths = kd::node::prepareVolumes(
        dir.path().toStdString(), p, get,
        [&](const json& projection) { return tokens.token(p, projection); });
    QVERIFY2(paths.ok(), paths.status().message().c_str());
    const std::string volume = paths->at("kube-api-access-abcde");
    auto read = [&](const char* file) {
      std::ifstream in(volume + "/" + file);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    QCOMPARE(read("token"), std::string("t1"));
    QCOMPARE(read("ca.crt"), std::string("PEM"));
    QCOMPARE(read("namespace"), std::string("apps"));

    // Without a token source the volume cannot be set up, and says why.
    auto none = kd::node::prepareVolumes(dir.path().toStdString() + "/other", p, get);
    QVERIFY(!none.ok());
    QVERIFY2(none.status().message().find("failed to fetch token") != std::string::npos,
             none.status().message().c_str());
  }
};

QTEST_GUILESS_MAIN(ServiceAccountTokensTest)
#include "service_account_tokens_test.moc"
