// Service account tokens: the JWTs the TokenRequest endpoint issues, the checks that make the
// authenticator accept or refuse them, and the TokenRequest errors kube-apiserver gives, against
// a real store with a clock the test moves.

#include "engine/server/service_account_token.h"

#include <QTemporaryDir>
#include <QtTest>
#include <atomic>

#include "engine/api/base64.h"
#include "engine/api/kinds.h"
#include "engine/api/schema.h"
#include "engine/store/sqlite_store.h"

using kd::json;
using kd::server::ServiceAccountTokens;

namespace {

const kd::api::KindInfo& kind(const char* resource) {
  return *kd::api::KindsRegistry::builtin().byResource("", "v1", resource);
}

// A store, an ObjectService whose clock is `now_`, and the tokens under test.
class Fixture {
 public:
  Fixture() {
    auto opened = kd::store::SqliteStore::open(dir_.filePath("store.db").toStdString());
    if (!opened.ok()) qFatal("cannot open store: %s", opened.status().message().c_str());
    store_ = std::move(opened).value();
    objects_ = std::make_unique<kd::server::ObjectService>(
        *store_, kd::api::KindsRegistry::builtin(), kd::api::SchemaRegistry::builtin(),
        [this] { return now_.load(); });
    tokens_ = std::make_unique<ServiceAccountTokens>(*objects_, "0123456789abcdef");
    create("namespaces", "", {{"metadata", {{"name", "default"}}}});
    create("serviceaccounts", "default", {{"metadata", {{"name", "default"}}}});
    create("serviceaccounts", "default", {{"metadata", {{"name", "builder"}}}});
  }

  json create(const char* resource, const std::string& ns, json body) {
    auto r = objects_->create(kind(resource), ns, std::move(body), {});
    if (!r.ok()) qFatal("create %s: %s", resource, r.status().message().c_str());
    return r->object;
  }
  void remove(const char* resource, const std::string& name) {
    if (!objects_->remove(kind(resource), "default", name, {}).ok())
      qFatal("delete %s", name.c_str());
  }
  json pod(const std::string& name, const std::string& account = "default") {
    return create("pods", "default",
                  {{"metadata", {{"name", name}}},
                   {"spec",
                    {{"serviceAccountName", account},
                     {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}});
  }
  kd::Result<json> issue(const std::string& name, json spec = json::object()) {
    return tokens_->issue("default", name, {{"kind", "TokenRequest"}, {"spec", spec}});
  }
  std::string tokenOf(const kd::Result<json>& issued) {
    if (!issued.ok()) qFatal("issue: %s", issued.status().message().c_str());
    return (*issued)["status"].value("token", "");
  }
  void advance(std::chrono::seconds by) { now_ = now_.load() + by; }

  ServiceAccountTokens& tokens() { return *tokens_; }

 private:
  QTemporaryDir dir_;
  std::atomic<std::chrono::system_clock::time_point> now_{std::chrono::system_clock::now()};
  std::unique_ptr<kd::store::SqliteStore> store_;
  std::unique_ptr<kd::server::ObjectService> objects_;
  std::unique_ptr<ServiceAccountTokens> tokens_;
};

json claimsOf(const std::string& token) {
  const size_t a = token.find('.'), b = token.find('.', a + 1);
  std::string part = token.substr(a + 1, b - a - 1);
  std::replace(part.begin(), part.end(), '-', '+');
  std::replace(part.begin(), part.end(), '_', '/');
  part.append((4 - part.size() % 4) % 4, '=');
  return json::parse(kd::api::base64Decode(part).value_or("null"));
}

}  // namespace

class ServiceAccountTokenTest : public QObject {
  Q_OBJECT

 private slots:
  void jwtSignatureCoversHeaderAndClaims() {
    const std::string token = kd::server::signJwt("key", {{"sub", "me"}});
    QCOMPARE(kd::server::verifyJwt("key", token).value_or(json()), json({{"sub", "me"}}));
    QVERIFY(!kd::server::verifyJwt("other key", token));
    std::string tampered = token;
    tampered[tampered.find('.') + 2] ^= 1;
    QVERIFY(!kd::server::verifyJwt("key", tampered));
    // alg "none" with the signature dropped is refused, whatever the claims say.
    const std::string unsigned_ = token.substr(0, token.rfind('.') + 1);
    QVERIFY(!kd::server::verifyJwt("key", unsigned_));
    QVERIFY(!kd::server::verifyJwt("key", "kdn.n1.abc"));
  }

  void issuedTokenAuthenticatesAsItsAccount() {
    Fixture f;
    auto issued = f.issue("builder");
    QVERIFY2(issued.ok(), issued.status().message().c_str());
    QCOMPARE((*issued)["spec"]["expirationSeconds"], json(3600));
    QCOMPARE((*issued)["spec"]["audiences"],
             json({"https://kubernetes.default.svc.cluster.local"}));
    QVERIFY(!(*issued)["status"].value("expirationTimestamp", "").empty());
    const std::string token = f.tokenOf(issued);
    const json claims = claimsOf(token);
    QCOMPARE(claims["sub"], json("system:serviceaccount:default:builder"));
    QCOMPARE(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), int64_t{3600});

    auto user = f.tokens().authenticate(token);
    QVERIFY(user);
    QCOMPARE(user->name, std::string("system:serviceaccount:default:builder"));
    QCOMPARE(user->groups,
             (std::vector<std::string>{"system:serviceaccounts", "system:serviceaccounts:default",
                                       "system:authenticated"}));
  }

  void tokenStopsAtItsExpiry() {
    Fixture f;
    const std::string token = f.tokenOf(f.issue("default", {{"expirationSeconds", 600}}));
    f.advance(std::chrono::seconds(599));
    QVERIFY(f.tokens().authenticate(token));
    f.advance(std::chrono::seconds(1));
    QVERIFY(!f.tokens().authenticate(token));
  }

  void tokenForAnotherAudienceDoesNotReachTheApi() {
    Fixture f;
    auto issued = f.issue("default", {{"audiences", {"vault"}}});
    QCOMPARE((*issued)["spec"]["audiences"], json({"vault"}));
    QVERIFY(!f.tokens().authenticate(f.tokenOf(issued)));
  }

  void tokenDiesWithItsAccount() {
    Fixture f;
    const std::string token = f.tokenOf(f.issue("builder"));
    f.remove("serviceaccounts", "builder");
    QVERIFY(!f.tokens().authenticate(token));
    // An account made again under the same name is another account.
    f.create("serviceaccounts", "default", {{"metadata", {{"name", "builder"}}}});
    QVERIFY(!f.tokens().authenticate(token));
  }

  void boundTokenDiesWithItsPod() {
    Fixture f;
    const json pod = f.pod("web");
    const std::string uid = pod["metadata"]["uid"];
    auto issued = f.issue(
        "default", {{"boundObjectRef",
                     {{"kind", "Pod"}, {"apiVersion", "v1"}, {"name", "web"}, {"uid", uid}}}});
    const std::string token = f.tokenOf(issued);
    QCOMPARE(claimsOf(token)["kubernetes.io"]["pod"], json({{"name", "web"}, {"uid", uid}}));
    QVERIFY(f.tokens().authenticate(token));
    f.remove("pods", "web");
    QVERIFY(!f.tokens().authenticate(token));
    f.pod("web");  // same name, new uid
    QVERIFY(!f.tokens().authenticate(token));
  }

  void requestErrors_data() {
    QTest::addColumn<QString>("account");
    QTest::addColumn<QByteArray>("spec");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing account")
        << "nobody" << QByteArray("{}") << 404 << "serviceaccounts \"nobody\" not found";
    QTest::newRow("under ten minutes")
        << "default" << QByteArray("{\"expirationSeconds\":60}") << 422
        << "TokenRequest.authentication.k8s.io \"default\" is invalid: spec.expirationSeconds: "
           "Invalid value: 60: may not specify a duration less than 10 minutes";
    QTest::newRow("missing pod") << "default"
                                 << QByteArray(
                                        "{\"boundObjectRef\":{\"kind\":\"Pod\",\"name\":\"gone\"}}")
                                 << 404 << "pods \"gone\" not found";
    QTest::newRow("pod of another account")
        << "builder" << QByteArray("{\"boundObjectRef\":{\"kind\":\"Pod\",\"name\":\"web\"}}")
        << 400
        << "cannot bind token for serviceaccount \"builder\" to pod running with different "
           "serviceaccount name.";
    QTest::newRow("stale pod uid")
        << "default"
        << QByteArray("{\"boundObjectRef\":{\"kind\":\"Pod\",\"name\":\"web\",\"uid\":\"u1\"}}")
        << 409
        << "Operation cannot be fulfilled on Pod \"web\": the UID in the bound object reference "
           "(u1) does not match the UID in record. The object might have been deleted and then "
           "recreated";
    QTest::newRow("not a pod") << "default"
                               << QByteArray(
                                      "{\"boundObjectRef\":{\"kind\":\"Secret\",\"name\":\"s\"}}")
                               << 400 << "cannot bind token to object of type Kind=Secret";
  }

  void requestErrors() {
    QFETCH(QString, account);
    QFETCH(QByteArray, spec);
    QFETCH(int, code);
    QFETCH(QString, message);
    Fixture f;
    f.pod("web");
    auto issued = f.issue(account.toStdString(), json::parse(spec.toStdString()));
    QVERIFY(!issued.ok());
    QCOMPARE(issued.status().code(), code);
    QVERIFY2(QString::fromStdString(issued.status().message()).startsWith(message),
             issued.status().message().c_str());
  }
};

QTEST_GUILESS_MAIN(ServiceAccountTokenTest)
#include "service_account_token_test.moc"
