#include <QtTest>

#include "engine/node/pod_status.h"

using kd::json;
using kd::node::ContainerView;
using State = ContainerView::State;

namespace {

ContainerView waiting() {
  return {};
}
ContainerView runningView() {
  ContainerView c;
  c.state = State::Running;
  return c;
}
ContainerView exited(int code) {
  ContainerView c;
  c.state = State::Terminated;
  c.terminated = kd::node::Termination{code, false, "", "", ""};
  return c;
}
ContainerView backingOff(int code) {
  ContainerView c;
  c.waitingReason = "CrashLoopBackOff";
  c.last = kd::node::Termination{code, false, "", "", ""};
  return c;
}

using Views = std::vector<ContainerView>;

}  // namespace

Q_DECLARE_METATYPE(Views)

class PodStatusTest : public QObject {
  Q_OBJECT

 private slots:
  void phase_data() {
    QTest::addColumn<Views>("init");
    QTest::addColumn<Views>("app");
    QTest::addColumn<QString>("policy");
    QTest::addColumn<QString>("phase");
    QTest::newRow("creating") << Views{} << Views{waiting()} << "Always"
                              << "Pending";
    QTest::newRow("running") << Views{} << Views{runningView()} << "Always"
                             << "Running";
    QTest::newRow("init running") << Views{runningView()} << Views{waiting()} << "Always"
                                  << "Pending";
    QTest::newRow("init failed never") << Views{exited(1)} << Views{waiting()} << "Never"
                                       << "Failed";
    QTest::newRow("init failed onfailure") << Views{exited(1)} << Views{waiting()} << "OnFailure"
                                           << "Pending";
    QTest::newRow("init done") << Views{exited(0)} << Views{runningView()} << "Never"
                               << "Running";
    QTest::newRow("completed") << Views{} << Views{exited(0)} << "Never"
                               << "Succeeded";
    QTest::newRow("completed onfailure") << Views{} << Views{exited(0)} << "OnFailure"
                                         << "Succeeded";
    QTest::newRow("error never") << Views{} << Views{exited(3)} << "Never"
                                 << "Failed";
    QTest::newRow("one of two failed") << Views{} << Views{exited(0), exited(2)} << "Never"
                                       << "Failed";
    QTest::newRow("crash loop onfailure") << Views{} << Views{backingOff(1)} << "OnFailure"
                                          << "Running";
    QTest::newRow("crash loop always") << Views{} << Views{backingOff(0)} << "Always"
                                       << "Running";
    QTest::newRow("one still running") << Views{} << Views{exited(1), runningView()} << "Never"
                                       << "Running";
  }
  void phase() {
    QFETCH(Views, init);
    QFETCH(Views, app);
    QFETCH(QString, policy);
    QFETCH(QString, phase);
    QCOMPARE(QString::fromStdString(kd::node::podPhase(init, app, policy.toStdString())), phase);
  }

  void terminationReasons_data() {
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<bool>("oom");
    QTest::addColumn<QString>("reason");
    QTest::newRow("zero") << 0 << false << "Completed";
    QTest::newRow("non-zero") << 3 << false << "Error";
    QTest::newRow("oom") << 137 << true << "OOMKilled";
    QTest::newRow("never started") << 128 << false << "StartError";
  }
  void terminationReasons() {
    QFETCH(int, exitCode);
    QFETCH(bool, oom);
    QFETCH(QString, reason);
    kd::node::Termination t;
    t.exitCode = exitCode;
    t.oomKilled = oom;
    if (exitCode == 128) t.startError = "exec: \"nope\": executable file not found in $PATH";
    QCOMPARE(QString::fromStdString(t.reason()), reason);
  }

  void conditionsKeepTransitionTimes() {
    ContainerView web = waiting();
    web.name = "web";
    const auto t0 = kd::node::Clock::now() - std::chrono::hours(1);
    json first = kd::node::podConditions({}, {web}, "Pending", true, json::array(), t0);
    json ready;
    for (const auto& c : first) {
      if (c["type"] == "Ready") ready = c;
    }
    QCOMPARE(ready["status"], json("False"));
    QCOMPARE(ready["reason"], json("ContainersNotReady"));
    QCOMPARE(ready["message"], json("containers with unready status: [web]"));
    json again = kd::node::podConditions({}, {web}, "Pending", true, first, kd::node::Clock::now());
    QCOMPARE(again, first);  // nothing changed: same transition times
    web.state = State::Running;
    json now = kd::node::podConditions({}, {web}, "Running", true, first, kd::node::Clock::now());
    for (const auto& c : now) {
      QCOMPARE(c["status"], json("True"));
      if (c["type"] == "Ready") QVERIFY(c["lastTransitionTime"] != ready["lastTransitionTime"]);
    }
  }

  void containerStatusShape() {
    ContainerView c = backingOff(1);
    c.name = "app";
    c.image = "busybox";
    c.restartCount = 2;
    c.waitingMessage = "back-off 20s restarting failed container=app pod=p_default(u)";
    const json s = kd::node::containerStatusJson(c);
    QCOMPARE(s["state"]["waiting"]["reason"], json("CrashLoopBackOff"));
    QCOMPARE(s["lastState"]["terminated"]["exitCode"], json(1));
    QCOMPARE(s["lastState"]["terminated"]["reason"], json("Error"));
    QCOMPARE(s["restartCount"], json(2));
    QCOMPARE(s["ready"], json(false));
  }
};

QTEST_GUILESS_MAIN(PodStatusTest)
#include "pod_status_test.moc"
