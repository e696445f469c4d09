#include "engine/api/kinds.h"

#include <QtTest>

using kd::api::KindsRegistry;

class KindsTest : public QObject {
  Q_OBJECT
 private slots:
  void resolvesWhatPeopleType_data() {
    QTest::addColumn<QString>("typed");
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("group");
    QTest::newRow("short name") << "deploy"
                                << "Deployment"
                                << "apps";
    QTest::newRow("plural") << "pods"
                            << "Pod"
                            << "";
    QTest::newRow("singular") << "pod"
                              << "Pod"
                              << "";
    QTest::newRow("kind, any case") << "cronJob"
                                    << "CronJob"
                                    << "batch";
    QTest::newRow("qualified") << "deployments.apps"
                               << "Deployment"
                               << "apps";
    QTest::newRow("events prefer core") << "ev"
                                        << "Event"
                                        << "";
    QTest::newRow("qualified events") << "events.events.k8s.io"
                                      << "Event"
                                      << "events.k8s.io";
    QTest::newRow("hpa") << "hpa"
                         << "HorizontalPodAutoscaler"
                         << "autoscaling";
  }
  void resolvesWhatPeopleType() {
    QFETCH(QString, typed);
    QFETCH(QString, kind);
    QFETCH(QString, group);
    const auto* info = KindsRegistry::builtin().resolve(typed.toStdString());
    QVERIFY(info);
    QCOMPARE(QString::fromStdString(info->kind), kind);
    QCOMPARE(QString::fromStdString(info->group), group);
  }

  void unknownNamesResolveToNothing() {
    QVERIFY(!KindsRegistry::builtin().resolve("frobnicators"));
  }

  void schemaTypesFollowThePackageName() {
    const auto* ev = KindsRegistry::builtin().byResource("events.k8s.io", "v1", "events");
    QVERIFY(ev);
    QCOMPARE(QString::fromStdString(ev->schemaType), QString("events.v1.Event"));
    const auto* pod = KindsRegistry::builtin().byKind("v1", "Pod");
    QVERIFY(pod);
    QCOMPARE(QString::fromStdString(pod->schemaType), QString("core.v1.Pod"));
  }

  void groupsListEachGroupOnce() {
    auto groups = KindsRegistry::builtin().groups();
    QCOMPARE(QString::fromStdString(groups.front().group), QString(""));
    int apps = 0;
    for (const auto& g : groups) apps += g.group == "apps";
    QCOMPARE(apps, 1);
  }
};

QTEST_GUILESS_MAIN(KindsTest)
#include "kinds_test.moc"
