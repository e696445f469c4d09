// End to end: a real kubedesk-engine process driven by the real kubectl, as a person would.

#include <QElapsedTimer>
#include <QFile>
#include <QRegularExpression>
#include <QtTest>

#include "engine_process.h"
#include "tests/support/settle.h"

namespace {

QString manifest(const QString& name) {
  return QStringLiteral(KD_SOURCE_DIR "/tests/e2e/manifests/") + name;
}

QByteArray readManifest(const QString& name) {
  QFile f(manifest(name));
  f.open(QIODevice::ReadOnly);
  return f.readAll();
}

}  // namespace

class KubectlE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }

 private slots:
  void initTestCase() { KD_VERIFY2(engine_.start(), qPrintable(engine_.log())); }

  void applyMultiDocumentFile() {
    auto r = k({"apply", "-f", manifest("shop.yaml")});
    CMD_OK(r);
    for (const char* line :
         {"namespace/shop created", "configmap/web-config created", "secret/web-secret created",
          "deployment.apps/web created", "service/web created", "cronjob.batch/report created"}) {
      KD_VERIFY2(r.out.contains(line), qPrintable(r.out));
    }
  }

  void getInEveryFormat() {
    auto plain = k({"get", "deploy", "-n", "shop"});
    CMD_OK(plain);
    KD_VERIFY2(
        plain.out.contains(QRegularExpression("NAME\\s+READY\\s+UP-TO-DATE\\s+AVAILABLE\\s+AGE")),
        qPrintable(plain.out));
    QVERIFY(plain.out.contains(QRegularExpression("web\\s+0/2\\s+[02]\\s+0\\s+\\d+s")));

    auto wide = k({"get", "deploy", "web", "-n", "shop", "-o", "wide"});
    CMD_OK(wide);
    KD_VERIFY2(wide.out.contains(QRegularExpression("CONTAINERS\\s+IMAGES\\s+SELECTOR")),
               qPrintable(wide.out));
    QVERIFY(wide.out.contains(QRegularExpression("httpd\\s+busybox:1.36\\s+app=web")));

    auto yaml = k({"get", "deploy", "web", "-n", "shop", "-o", "yaml"});
    CMD_OK(yaml);
    QVERIFY(yaml.out.contains("kind: Deployment"));
    QVERIFY(yaml.out.contains("maxSurge: 25%"));  // defaulted like Kubernetes
    QVERIFY(yaml.out.contains("revisionHistoryLimit: 10"));
    QVERIFY(yaml.out.contains("generation: 1"));

    auto jsonpath = k({"get", "deploy", "web", "-n", "shop", "-o",
                       "jsonpath={.spec.template.spec.containers[0].image}"});
    CMD_OK(jsonpath);
    QCOMPARE(jsonpath.out, QString("busybox:1.36"));

    auto byLabel = k({"get", "deploy", "-A", "-l", "app=web", "-o", "name"});
    CMD_OK(byLabel);
    QCOMPARE(byLabel.out.trimmed(), QString("deployment.apps/web"));
    auto noMatch = k({"get", "deploy", "-A", "-l", "app notin (web)", "-o", "name"});
    CMD_OK(noMatch);
    QCOMPARE(noMatch.out.trimmed(), QString());

    auto all = k({"get", "configmaps", "-A"});
    CMD_OK(all);
    QVERIFY(all.out.contains(QRegularExpression("NAMESPACE\\s+NAME\\s+DATA\\s+AGE")));
    QVERIFY(all.out.contains(QRegularExpression("shop\\s+web-config\\s+2")));

    auto svc = k({"get", "svc", "web", "-n", "shop", "-o", "jsonpath={.spec.clusterIP}"});
    CMD_OK(svc);
    KD_VERIFY2(svc.out.startsWith("10."), qPrintable(svc.out));

    auto secret =
        k({"get", "secret", "web-secret", "-n", "shop", "-o", "jsonpath={.data.password}"});
    QCOMPARE(secret.out, QString("aHVudGVyMg=="));  // stringData became base64 data
  }

  void applyAgainMergesThreeWays() {
    // Someone else labels the deployment; our manifest never mentions that label.
    CMD_OK(k({"label", "deploy", "web", "-n", "shop", "owner=ops"}));
    QByteArray edited = readManifest("shop.yaml");
    edited.replace("replicas: 2", "replicas: 3");
    edited.replace("  MODE: production\n", "");
    auto r = k({"apply", "-f", "-"}, edited);
    CMD_OK(r);
    KD_VERIFY2(r.out.contains("deployment.apps/web configured"), qPrintable(r.out));
    QVERIFY(r.out.contains("configmap/web-config configured"));
    QVERIFY(r.out.contains("service/web unchanged"));

    auto replicas =
        k({"get", "deploy", "web", "-n", "shop", "-o",
           "jsonpath={.spec.replicas} {.metadata.labels.owner} {.metadata.generation}"});
    QCOMPARE(replicas.out, QString("3 ops 2"));
    auto data = k({"get", "cm", "web-config", "-n", "shop", "-o", "jsonpath={.data}"});
    KD_VERIFY2(!data.out.contains("MODE") && data.out.contains("PORT"), qPrintable(data.out));
  }

  void getWatchSeesAnUpdate() {
    std::unique_ptr<QProcess> watch(engine_.startKubectl(
        {"get", "cm", "web-config", "-n", "shop", "-w", "--output-watch-events"}));
    QString seen;
    KD_TRY_VERIFY((seen += watch->readAllStandardOutput(), seen.contains("ADDED")));
    CMD_OK(k({"patch", "cm", "web-config", "-n", "shop", "--type", "merge", "-p",
              R"({"data":{"EXTRA":"1"}})"}));
    KD_TRY_VERIFY((seen += watch->readAllStandardOutput(),
                   seen.contains(QRegularExpression("MODIFIED\\s+web-config\\s+2\\s"))));
    watch->kill();
    watch->waitForFinished();
  }

  void describeShowsWhatKubectlShows() {
    auto r = k({"describe", "deploy", "web", "-n", "shop"});
    CMD_OK(r);
    KD_VERIFY2(r.out.contains("RollingUpdateStrategy:  25% max unavailable, 25% max surge"),
               qPrintable(r.out));
    QVERIFY(r.out.contains(QRegularExpression("Readiness:\\s+http-get http://:8080/")));
    QVERIFY(r.out.contains("<set to the key 'MODE' of config map 'web-config'>"));
  }

  void patchWithAllThreeTypes() {
    CMD_OK(k(
        {"patch", "deploy", "web", "-n", "shop", "-p",
         R"({"spec":{"template":{"spec":{"containers":[{"name":"httpd","image":"busybox:1.37"}]}}}})"}));
    auto c = k({"get", "deploy", "web", "-n", "shop", "-o",
                "jsonpath={.spec.template.spec.containers[0].image} "
                "{.spec.template.spec.containers[0].ports[0].containerPort}"});
    QCOMPARE(c.out, QString("busybox:1.37 8080"));  // merged by name: ports kept
    CMD_OK(k({"patch", "cm", "web-config", "-n", "shop", "--type", "merge", "-p",
              R"({"data":{"PORT":null,"NEW":"v"}})"}));
    CMD_OK(k({"patch", "cm", "web-config", "-n", "shop", "--type", "json", "-p",
              R"([{"op":"add","path":"/metadata/annotations/team","value":"shop"}])"}));
    auto cm = k({"get", "cm", "web-config", "-n", "shop", "-o",
                 "jsonpath={.data.NEW} {.data.PORT} {.metadata.annotations.team}"});
    QCOMPARE(cm.out, QString("v  shop"));
    auto failed = k({"patch", "cm", "web-config", "-n", "shop", "--type", "json", "-p",
                     R"([{"op":"test","path":"/data/NEW","value":"other"}])"});
    QVERIFY(failed.exitCode != 0);
  }

  void scaleLabelAnnotate() {
    CMD_OK(k({"scale", "deploy", "web", "-n", "shop", "--replicas=5"}));
    CMD_OK(k({"label", "deploy", "web", "-n", "shop", "tier=frontend"}));
    CMD_OK(k({"annotate", "deploy", "web", "-n", "shop", "note=hello"}));
    auto r = k({"get", "deploy", "web", "-n", "shop", "-o",
                "jsonpath={.spec.replicas} {.metadata.labels.tier} {.metadata.annotations.note}"});
    QCOMPARE(r.out, QString("5 frontend hello"));
    auto overwrite = k({"label", "deploy", "web", "-n", "shop", "tier=backend"});
    QVERIFY(overwrite.exitCode != 0);  // kubectl refuses without --overwrite
    CMD_OK(k({"label", "deploy", "web", "-n", "shop", "tier-"}));
    auto shown = k({"get", "deploy", "web", "-n", "shop", "--show-labels"});
    KD_VERIFY2(!shown.out.contains("tier="), qPrintable(shown.out));
  }

  void explainUsesTheServedSchema() {
    auto r = k({"explain", "deployment.spec.replicas"});
    CMD_OK(r);
    KD_VERIFY2(r.out.contains("FIELD: replicas <integer>"), qPrintable(r.out));
    QVERIFY(r.out.contains("GROUP:      apps"));
  }

  void invalidManifestsAreRejectedWithTheFieldError() {
    auto r = k({"apply", "-f", manifest("invalid-deployment.yaml")});
    QCOMPARE(r.exitCode, 1);
    KD_VERIFY2(
        r.err.contains("spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
        qPrintable(r.err));
    QVERIFY(r.err.contains("spec.template.spec.containers[0].image: Required value"));
    auto unknown = k({"apply", "-f", manifest("unknown-field.yaml")});
    QCOMPARE(unknown.exitCode, 1);
    KD_VERIFY2(unknown.err.contains("strict decoding error: unknown field \"datta\""),
               qPrintable(unknown.err));
    QVERIFY(k({"get", "cm", "typo", "-n", "shop"}).exitCode != 0);  // nothing half-stored
  }

  void malformedAndOversizedBodiesGetClearErrors() {
    QTemporaryDir tmp;
    const QString broken = tmp.filePath("broken.json");
    QFile f(broken);
    f.open(QIODevice::WriteOnly);
    f.write(
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\",\n  \"metadata\": {\"name\": "
        "}\n}\n");
    f.close();
    auto r = k({"create", "--raw", "/api/v1/namespaces/shop/configmaps", "-f", broken});
    QVERIFY(r.exitCode != 0);
    KD_VERIFY2(r.err.contains("line 4"), qPrintable(r.err));

    const QString big = tmp.filePath("big.json");
    QFile b(big);
    b.open(QIODevice::WriteOnly);
    // (No raw string here: Qt 6.4's moc misreads this one and drops the test class.)
    b.write(
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"big\"},"
        "\"data\":{\"x\":\"");
    b.write(QByteArray(4 * 1024 * 1024, 'a'));
    b.write("\"}}");
    b.close();
    auto tooBig = k({"create", "--raw", "/api/v1/namespaces/shop/configmaps", "-f", big});
    QVERIFY(tooBig.exitCode != 0);
    KD_VERIFY2(tooBig.err.contains("RequestEntityTooLarge") || tooBig.err.contains("3 MiB"),
               qPrintable(tooBig.err));
    CMD_OK(k({"get", "ns", "shop"}));  // the engine is still serving
  }

  void anonymousRequestsAreUnauthorized() {
    QProcess curl;
    curl.start("curl", {"-sk", "-o", "/dev/null", "-w", "%{http_code}",
                        engine_.url() + "/api/v1/namespaces"});
    QVERIFY(curl.waitForFinished(10000));
    QCOMPARE(QString::fromUtf8(curl.readAllStandardOutput()), QString("401"));
    curl.start("curl", {"-sk", engine_.url() + "/healthz"});
    QVERIFY(curl.waitForFinished(10000));
    QCOMPARE(QString::fromUtf8(curl.readAllStandardOutput()), QString("ok"));
  }

  // kubectl 1.32+ sends these as Kubernetes protobuf.
  void typedCreateCommandsWork() {
    CMD_OK(k({"create", "namespace", "tools"}));
    CMD_OK(k({"create", "deployment", "api", "-n", "tools", "--image=busybox:1.36", "--replicas=3",
              "--port=8080"}));
    CMD_OK(k({"create", "job", "once", "-n", "tools", "--image=busybox", "--", "date"}));
    CMD_OK(k({"create", "cronjob", "tick", "-n", "tools", "--image=busybox",
              "--schedule=*/5 * * * *", "--", "date"}));
    CMD_OK(k({"create", "service", "nodeport", "api", "-n", "tools", "--tcp=80:8080"}));
    CMD_OK(k({"create", "secret", "generic", "creds", "-n", "tools", "--from-literal=u=me"}));
    auto r = k({"get", "deploy/api", "job/once", "cj/tick", "svc/api", "secret/creds", "-n",
                "tools", "-o",
                "jsonpath={range .items[*]}{.kind}:{.spec.replicas}{.spec.schedule}"
                "{.spec.ports[0].nodePort}{.data.u} {end}"});
    CMD_OK(r);
    KD_VERIFY2(r.out.contains("Deployment:3 ") && r.out.contains("CronJob:*/5 * * * * ") &&
                   r.out.contains("Secret:bWU= ") &&
                   r.out.contains(QRegularExpression("Service:3\\d{4} ")),
               qPrintable(r.out));
    auto job =
        k({"get", "job", "once", "-n", "tools", "-o", "jsonpath={.spec.selector.matchLabels}"});
    KD_VERIFY2(job.out.contains("batch.kubernetes.io/controller-uid"), qPrintable(job.out));
  }

  void generateNameAndServerDryRun() {
    const QByteArray job =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: run-\n"
        "  namespace: shop\ndata: {a: b}\n";
    auto created = k({"create", "-f", "-", "-o", "name"}, job);
    CMD_OK(created);
    KD_VERIFY2(created.out.trimmed().contains(QRegularExpression("^configmap/run-[a-z0-9]{5}$")),
               qPrintable(created.out));
    auto dry = k({"create", "configmap", "ghost", "-n", "shop", "--from-literal=a=b",
                  "--dry-run=server", "-o", "jsonpath={.metadata.name}"});
    CMD_OK(dry);
    QCOMPARE(dry.out, QString("ghost"));
    QVERIFY(k({"get", "cm", "ghost", "-n", "shop"}).exitCode != 0);  // nothing stored
    // A dry run answers as the write would: an existing name is AlreadyExists.
    const QString existing = created.out.trimmed().section('/', 1);
    auto dryExisting = k(
        {"create", "configmap", existing, "-n", "shop", "--from-literal=a=b", "--dry-run=server"});
    QVERIFY(dryExisting.exitCode != 0);
    QCOMPARE(dryExisting.err.trimmed(), QString("error: failed to create configmap: configmaps \"" +
                                                existing + "\" already exists"));
    auto dryInvalid = k({"apply", "-f", manifest("invalid-deployment.yaml"), "--dry-run=server"});
    QVERIFY(dryInvalid.err.contains("must be greater than or equal to 0"));
  }

  void waitForDeleteReturnsWhenTheObjectGoes() {
    CMD_OK(k({"create", "configmap", "doomed", "-n", "shop", "--from-literal=a=b"}));
    std::unique_ptr<QProcess> wait(engine_.startKubectl(
        {"wait", "--for=delete", "configmap/doomed", "-n", "shop", "--timeout=30s"}));
    QTest::qWait(500);
    CMD_OK(k({"delete", "configmap", "doomed", "-n", "shop"}));
    QVERIFY(wait->waitForFinished(30000));
    QCOMPARE(wait->exitCode(), 0);
  }

  void deleteCascadesThroughOwnerReferences_data() {
    QTest::addColumn<QString>("cascade");
    QTest::addColumn<bool>("dependentSurvives");
    QTest::newRow("background") << "background" << false;
    QTest::newRow("foreground") << "foreground" << false;
    QTest::newRow("orphan") << "orphan" << true;
  }
  void deleteCascadesThroughOwnerReferences() {
    QFETCH(QString, cascade);
    QFETCH(bool, dependentSurvives);
    CMD_OK(k({"apply", "-f", manifest("owners.yaml")}));
    auto uid = k({"get", "cm", "owner", "-n", "shop", "-o", "jsonpath={.metadata.uid}"});
    CMD_OK(uid);
    const QString dependent = QString(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{)"
                                      R"("name":"dependent","namespace":"shop","ownerReferences":)"
                                      R"([{"apiVersion":"v1","kind":"ConfigMap","name":"owner",)"
                                      R"("uid":"%1","blockOwnerDeletion":true}]}})")
                                  .arg(uid.out);
    CMD_OK(k({"apply", "-f", "-"}, dependent.toUtf8()));
    QElapsedTimer timer;
    timer.start();
    CMD_OK(k({"delete", "cm", "owner", "-n", "shop", "--cascade=" + cascade}));
    KD_VERIFY2(timer.elapsed() < 10000, "kubectl delete waited for the deletion too long");
    QVERIFY(k({"get", "cm", "owner", "-n", "shop"}).exitCode != 0);
    if (dependentSurvives) {
      KD_TRY_VERIFY(
          k({"get", "cm", "dependent", "-n", "shop", "-o", "jsonpath={.metadata.ownerReferences}"})
              .out.isEmpty());
      CMD_OK(k({"delete", "cm", "dependent", "-n", "shop"}));
    } else {
      KD_TRY_VERIFY(k({"get", "cm", "dependent", "-n", "shop"}).exitCode != 0);
    }
  }

  void deleteAllAndNamespaces() {
    CMD_OK(k({"create", "namespace", "scratch"}));
    for (const char* name : {"a", "b", "c"}) {
      CMD_OK(k({"create", "configmap", name, "-n", "scratch", "--from-literal=k=v"}));
    }
    auto all = k({"delete", "configmap", "--all", "-n", "scratch"});
    CMD_OK(all);
    KD_VERIFY2(all.out.contains("configmap \"c\" deleted"), qPrintable(all.out));
    CMD_OK(k({"create", "configmap", "left", "-n", "scratch", "--from-literal=k=v"}));
    QElapsedTimer timer;
    timer.start();
    CMD_OK(k({"delete", "namespace", "scratch"}));  // waits until the namespace is gone
    QVERIFY(timer.elapsed() < 15000);
    QVERIFY(k({"get", "namespace", "scratch"}).exitCode != 0);
    QVERIFY(k({"get", "configmap", "left", "-n", "scratch"}).exitCode != 0);
  }

  void olderAndNewerKubectlWork_data() {
    QTest::addColumn<QString>("binary");
    QTest::newRow("1.27") << "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";
    QTest::newRow("1.33") << "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
  }
  void olderAndNewerKubectlWork() {
    QFETCH(QString, binary);
    const QString ns = "v" + QString(QTest::currentDataTag()).replace('.', '-');
    QByteArray doc = readManifest("shop.yaml");
    doc.replace("namespace: shop", "namespace: " + ns.toUtf8());
    doc.replace("name: shop", "name: " + ns.toUtf8());
    auto apply = engine_.kubectl({"apply", "-f", "-"}, doc, binary);
    CMD_OK(apply);
    QVERIFY(apply.out.contains("deployment.apps/web created"));
    doc.replace("replicas: 2", "replicas: 4");
    CMD_OK(engine_.kubectl({"apply", "-f", "-"}, doc, binary));
    auto get = engine_.kubectl({"get", "deploy", "web", "-n", ns, "-o", "wide"}, {}, binary);
    CMD_OK(get);
    KD_VERIFY2(get.out.contains(QRegularExpression("web\\s+0/4")), qPrintable(get.out));
    auto explain = engine_.kubectl({"explain", "pods.spec.containers.image"}, {}, binary);
    CMD_OK(explain);
    QVERIFY(explain.out.contains("image <string>"));
    auto bad = engine_.kubectl({"apply", "-f", "-"},
                               readManifest("invalid-deployment.yaml")
                                   .replace("namespace: shop", "namespace: " + ns.toUtf8()),
                               binary);
    QVERIFY(bad.err.contains("must be greater than or equal to 0"));
  }

  void acknowledgedWritesSurviveKill9() {
    CMD_OK(k({"create", "configmap", "durable", "-n", "shop", "--from-literal=k=v"}));
    engine_.kill9();
    EngineProcess again(engine_.dataDir());
    KD_VERIFY2(again.start(), qPrintable(again.log()));
    QCOMPARE(again.url(), engine_.url());  // same port: kubeconfigs stay valid
    auto r = again.kubectl({"get", "cm", "durable", "-n", "shop", "-o", "jsonpath={.data.k}"});
    CMD_OK(r);
    QCOMPARE(r.out, QString("v"));
    again.stop();
    KD_VERIFY2(again.log().contains("shutting down"), qPrintable(again.log()));
  }
};

QTEST_GUILESS_MAIN(KubectlE2eTest)
#include "kubectl_e2e_test.moc"
