// End to end: the controllers and the scheduler on simulated nodes, driven by the real kubectl
// the way a person would drive a cluster (issue: Deployments, Jobs, CronJobs, DaemonSets,
// StatefulSets, Services, volumes and scheduling behave as in Kubernetes).

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtTest>

#include "engine_process.h"

namespace {

QString manifest(const QString& name) {
  return QStringLiteral(KD_SOURCE_DIR "/tests/e2e/manifests/") + name;
}

QJsonObject parseObject(const QString& text) {
  return QJsonDocument::fromJson(text.toUtf8()).object();
}

}  // namespace

class ControllersE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_{{}, {"--simulated-nodes", "3"}};
  QStringList nodes_;

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QString jsonpath(const QStringList& target, const QString& path) {
    return k(QStringList(target) << "-o"
                                 << "jsonpath=" + path)
        .out;
  }
  QJsonObject getJson(const QStringList& target) {
    return parseObject(k(QStringList{"get"} + target + QStringList{"-o", "json"}).out);
  }

 private slots:
  void initTestCase() {
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "nodes"}, "{.items[*].metadata.name}")
                                  .split(' ', Qt::SkipEmptyParts)
                                  .size(),
                              3, 20000);
    nodes_ = jsonpath({"get", "nodes"}, "{.items[*].metadata.name}").split(' ');
    // The CronJob runs in the background while the other cases do their work.
    CMD_OK(k({"apply", "-f", manifest("controllers-cronjob.yaml")}));
  }

  void rollingUpdateKeepsAvailabilityAndUndoReturns() {
    CMD_OK(k({"apply", "-f", manifest("controllers-web.yaml")}));
    CMD_OK(engine_.kubectl({"rollout", "status", "deploy/web", "--timeout=60s"}, {},
                           "/usr/bin/kubectl", 70000));

    CMD_OK(k({"set", "image", "deploy/web", "app=busybox:2"}));
    QElapsedTimer timer;
    timer.start();
    int minAvailable = 4;
    bool done = false;
    while (!done && timer.elapsed() < 60000) {
      const QJsonObject status = getJson({"deploy", "web"})["status"].toObject();
      const QJsonObject meta = getJson({"deploy", "web"})["metadata"].toObject();
      minAvailable = std::min(minAvailable, status["availableReplicas"].toInt());
      done = status["updatedReplicas"].toInt() == 4 && status["availableReplicas"].toInt() == 4 &&
             status["replicas"].toInt() == 4 &&
             status["observedGeneration"].toInt() == meta["generation"].toInt();
    }
    QVERIFY(done);
    KD_VERIFY2(minAvailable >= 3, qPrintable(QString::number(minAvailable)));

    auto history = k({"rollout", "history", "deploy/web"});
    CMD_OK(history);
    KD_VERIFY2(history.out.contains(QRegularExpression("1\\s+<none>")) &&
                   history.out.contains(QRegularExpression("2\\s+<none>")),
               qPrintable(history.out));

    auto undo = k({"rollout", "undo", "deploy/web"});
    CMD_OK(undo);
    const QString replicaSets = k({"get", "rs", "-o",
                                   "custom-columns=NAME:.metadata.name,REVISION:.metadata."
                                   "annotations.deployment\\.kubernetes\\.io/"
                                   "revision,IMAGE:.spec.template.spec.containers[0].image"})
                                    .out;
    CMD_OK(engine_.kubectl({"rollout", "status", "deploy/web", "--timeout=60s"}, {},
                           "/usr/bin/kubectl", 70000));
    KD_VERIFY2(jsonpath({"get", "deploy", "web"}, "{.spec.template.spec.containers[0].image}") ==
                   "busybox:1",
               qPrintable(undo.out + replicaSets));
  }

  void serviceEndpointsListReadyPods() {
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "endpoints", "web"}, "{.subsets[0].addresses[*].ip}")
                                  .split(' ', Qt::SkipEmptyParts)
                                  .size(),
                              4, 20000);
    QCOMPARE(jsonpath({"get", "endpoints", "web"}, "{.subsets[0].ports[0].port}"), QString("8080"));
    auto slices = k({"get", "endpointslices", "-l", "kubernetes.io/service-name=web"});
    CMD_OK(slices);
    KD_VERIFY2(slices.out.contains(QRegularExpression("web-\\w+\\s+IPv4\\s+8080\\s+")),
               qPrintable(slices.out));
    auto api = k({"get", "svc", "kubernetes"});
    CMD_OK(api);
    KD_VERIFY2(api.out.contains(
                   QRegularExpression("kubernetes\\s+ClusterIP\\s+10.96.0.1\\s+<none>\\s+443/TCP")),
               qPrintable(api.out));
  }

  void jobsCompleteOrStopAtBackoffLimit() {
    CMD_OK(k({"apply", "-f", manifest("controllers-jobs.yaml")}));
    CMD_OK(engine_.kubectl({"wait", "--for=condition=complete", "job/batch", "--timeout=90s"}, {},
                           "/usr/bin/kubectl", 100000));
    QCOMPARE(jsonpath({"get", "job", "batch"}, "{.status.succeeded}"), QString("5"));
    CMD_OK(engine_.kubectl({"wait", "--for=condition=failed", "job/broken", "--timeout=120s"}, {},
                           "/usr/bin/kubectl", 130000));
    QCOMPARE(
        jsonpath({"get", "job", "broken"}, "{.status.conditions[?(@.type==\"Failed\")].reason}"),
        QString("BackoffLimitExceeded"));
    QCOMPARE(jsonpath({"get", "job", "broken"}, "{.status.failed}"), QString("2"));
  }

  void daemonSetFollowsNodesAndTaints() {
    CMD_OK(k({"apply", "-f", manifest("controllers-daemonset.yaml")}));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "ds", "agent"}, "{.status.numberReady}"),
                              QString("3"), 20000);
    CMD_OK(k({"taint", "node", nodes_[0], "dedicated=x:NoExecute"}));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "ds", "agent"}, "{.status.desiredNumberScheduled}"),
                              QString("2"), 20000);
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "pods", "-l", "app=agent", "--field-selector",
                                        "spec.nodeName=" + nodes_[0]},
                                       "{.items[*].metadata.name}"),
                              QString(), 20000);
    CMD_OK(k({"taint", "node", nodes_[0], "dedicated-"}));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "ds", "agent"}, "{.status.numberReady}"),
                              QString("3"), 20000);

    // A node added later gets its daemon pod.
    struct RemoveNode {
      ControllersE2eTest* test;
      ~RemoveNode() { test->k({"delete", "node", "late", "--ignore-not-found"}); }
    } removeLate{this};
    CMD_OK(k({"create", "-f", "-"},
             "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"late\"}}"));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "ds", "agent"}, "{.status.desiredNumberScheduled}"),
                              QString("4"), 20000);
  }

  void statefulSetStartsInOrderAndKeepsClaims() {
    CMD_OK(k({"apply", "-f", manifest("controllers-statefulset.yaml")}));
    CMD_OK(engine_.kubectl({"rollout", "status", "sts/db", "--timeout=60s"}, {}, "/usr/bin/kubectl",
                           70000));
    QStringList created;
    for (const char* pod : {"db-0", "db-1", "db-2"}) {
      created << jsonpath({"get", "pod", pod}, "{.metadata.creationTimestamp}");
    }
    KD_VERIFY2(created[0] <= created[1] && created[1] <= created[2], qPrintable(created.join(' ')));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "pvc"}, "{.items[*].status.phase}"),
                              QString("Bound Bound Bound"), 20000);
    CMD_OK(k({"scale", "sts/db", "--replicas=1"}));
    QTRY_COMPARE_WITH_TIMEOUT(
        jsonpath({"get", "pods", "-l", "app=db"}, "{.items[*].metadata.name}"), QString("db-0"),
        30000);
    QCOMPARE(jsonpath({"get", "pvc"}, "{.items[*].metadata.name}"),
             QString("data-db-0 data-db-1 data-db-2"));
  }

  void untoleratedTaintLeavesPodPendingWithKubernetesMessage() {
    CMD_OK(k({"taint", "node", nodes_[1], "dedicated=gpu:NoSchedule"}));
    QJsonObject spec{{"nodeSelector", QJsonObject{{"kubernetes.io/hostname", nodes_[1]}}},
                     {"containers", QJsonArray{QJsonObject{{"name", "c"}, {"image", "busybox"}}}}};
    QJsonObject pod{{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", QJsonObject{{"name", "picky"}}},
                    {"spec", spec}};
    CMD_OK(k({"create", "-f", "-"}, QJsonDocument(pod).toJson()));
    QTRY_VERIFY_WITH_TIMEOUT(k({"describe", "pod", "picky"}).out.contains("FailedScheduling"),
                             20000);
    const QString describe = k({"describe", "pod", "picky"}).out;
    KD_VERIFY2(describe.contains("0/3 nodes are available: 1 node(s) had untolerated taint "
                                 "{dedicated: gpu}, 2 node(s) didn't match Pod's node "
                                 "affinity/selector."),
               qPrintable(describe.mid(describe.indexOf("Events:"))));
    QCOMPARE(jsonpath({"get", "pod", "picky"}, "{.status.phase}"), QString("Pending"));
    CMD_OK(k({"taint", "node", nodes_[1], "dedicated-"}));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "pod", "picky"}, "{.spec.nodeName}"), nodes_[1],
                              30000);
  }

  void getAllLooksLikeKubernetes() {
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "ds", "agent"}, "{.status.numberReady}"),
                              QString("3"), 20000);
    auto all = k({"get", "all"});
    CMD_OK(all);
    for (const char* pattern :
         {"NAME\\s+READY\\s+STATUS\\s+RESTARTS\\s+AGE", "pod/web-\\w+-\\w+\\s+1/1\\s+Running\\s+0",
          "service/kubernetes\\s+ClusterIP\\s+10\\.96\\.0\\.1\\s+<none>\\s+443/TCP",
          "daemonset.apps/agent\\s+3\\s+3\\s+3\\s+3\\s+3\\s+<none>",
          "deployment.apps/web\\s+4/4\\s+4\\s+4", "replicaset.apps/web-\\w+\\s+4\\s+4\\s+4",
          "statefulset.apps/db\\s+1/1", "cronjob.batch/tick\\s+\\*/1 \\* \\* \\* \\*",
          "job.batch/batch\\s+Complete\\s+5/5", "job.batch/broken\\s+Failed\\s+0/1"}) {
      KD_VERIFY2(all.out.contains(QRegularExpression(pattern)),
                 qPrintable(pattern + ("\n" + all.out)));
    }
  }

  void deleteWithForegroundCascade() {
    CMD_OK(engine_.kubectl({"delete", "deploy", "web", "--cascade=foreground"}, {},
                           "/usr/bin/kubectl", 60000));
    QCOMPARE(jsonpath({"get", "rs", "-l", "app=web"}, "{.items[*].metadata.name}"), QString());
    QTRY_COMPARE_WITH_TIMEOUT(
        jsonpath({"get", "pods", "-l", "app=web"}, "{.items[*].metadata.name}"), QString(), 20000);
  }

  // Last, so that schedules have passed meanwhile. Each job runs 150 s, so with Forbid the
  // schedules that come while one runs start nothing: jobs never overlap.
  void cronJobRunsOnScheduleAndHonoursForbid() {
    QTRY_VERIFY_WITH_TIMEOUT(
        !jsonpath({"get", "cronjob", "tick"}, "{.status.lastScheduleTime}").isEmpty(), 70000);
    const QString firstJob = jsonpath({"get", "cronjob", "tick"}, "{.status.active[0].name}");
    KD_VERIFY2(QRegularExpression("^tick-\\d{8}$").match(firstJob).hasMatch(),
               qPrintable(firstJob));
    // Stay until a schedule has certainly come while a job was running.
    const QDateTime started = QDateTime::fromString(
        jsonpath({"get", "job", firstJob}, "{.status.startTime}"), Qt::ISODate);
    const qint64 wait = QDateTime::currentDateTimeUtc().msecsTo(started.addSecs(70));
    if (wait > 0) QTest::qWait(static_cast<int>(wait));

    struct Run {
      QDateTime start, end;
    };
    std::vector<Run> runs;
    const QJsonArray jobs = getJson({"jobs"})["items"].toArray();
    for (const auto& j : jobs) {
      const QJsonObject job = j.toObject();
      if (!job["metadata"].toObject()["name"].toString().startsWith("tick-")) continue;
      const QJsonObject status = job["status"].toObject();
      QDateTime end = QDateTime::fromString(status["completionTime"].toString(), Qt::ISODate);
      if (!end.isValid()) end = QDateTime::currentDateTimeUtc();
      runs.push_back({QDateTime::fromString(status["startTime"].toString(), Qt::ISODate), end});
    }
    QVERIFY(!runs.empty());
    std::sort(runs.begin(), runs.end(),
              [](const Run& a, const Run& b) { return a.start < b.start; });
    for (size_t i = 1; i < runs.size(); ++i) QVERIFY(runs[i].start >= runs[i - 1].end);
    QVERIFY(jsonpath({"get", "cronjob", "tick"}, "{.status.active[1].name}").isEmpty());
  }
};

QTEST_GUILESS_MAIN(ControllersE2eTest)
#include "controllers_e2e_test.moc"
