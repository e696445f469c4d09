#include <QtTest>

#include "engine/node/image_ref.h"

class ImageRefTest : public QObject {
  Q_OBJECT

 private slots:
  void normalizes_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("full");
    QTest::newRow("bare") << "busybox"
                          << "docker.io/library/busybox:latest";
    QTest::newRow("tag") << "busybox:1.36"
                         << "docker.io/library/busybox:1.36";
    QTest::newRow("user") << "me/app"
                          << "docker.io/me/app:latest";
    QTest::newRow("docker.io") << "docker.io/busybox"
                               << "docker.io/library/busybox:latest";
    QTest::newRow("registry port") << "localhost:5000/app"
                                   << "localhost:5000/app:latest";
    QTest::newRow("localhost") << "localhost/app:v1"
                               << "localhost/app:v1";
    QTest::newRow("domain") << "registry.k8s.io/pause:3.9"
                            << "registry.k8s.io/pause:3.9";
    QTest::newRow("digest")
        << "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        << "docker.io/library/busybox@sha256:"
           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    QTest::newRow("tag and digest")
        << "busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        << "docker.io/library/busybox:1@sha256:"
           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  }
  void normalizes() {
    QFETCH(QString, name);
    QFETCH(QString, full);
    auto ref = kd::node::parseImageReference(name.toStdString());
    QVERIFY2(ref.ok(), ref.status().message().c_str());
    QCOMPARE(QString::fromStdString(ref->full()), full);
  }

  void rejects_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("empty") << "";
    QTest::newRow("uppercase repository") << "docker.io/BusyBox";
    QTest::newRow("bad tag") << "busybox:-x";
    QTest::newRow("short digest") << "busybox@sha256:abc";
    QTest::newRow("space") << "busy box";
  }
  void rejects() {
    QFETCH(QString, name);
    auto ref = kd::node::parseImageReference(name.toStdString());
    QVERIFY(!ref.ok());
    QCOMPARE(ref.status().code(), 400);
  }
};

QTEST_GUILESS_MAIN(ImageRefTest)
#include "image_ref_test.moc"
