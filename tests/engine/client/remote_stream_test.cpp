// The pure parts of kdctl's streaming clients: the exec/attach query kubectl sends, exit codes
// read from the error channel's Status, and port-forward's port specs.

#include <QtTest>

#include "engine/client/port_forward_client.h"
#include "engine/client/remote_stream.h"

using kd::json;
using namespace kd::client;

class RemoteStreamTest : public QObject {
  Q_OBJECT

 private slots:
  void query_data() {
    QTest::addColumn<QStringList>("command");
    QTest::addColumn<bool>("input");
    QTest::addColumn<bool>("tty");
    QTest::addColumn<QString>("expected");
    QTest::newRow("exec") << QStringList{"sh", "-c", "echo a&b"} << false << false
                          << "?command=sh&command=-c&command=echo%20a%26b&container=c&"
                             "stderr=true&stdin=false&stdout=true&tty=false";
    QTest::newRow("exec -it") << QStringList{"sh"} << true << true
                              << "?command=sh&container=c&stderr=false&stdin=true&stdout=true&"
                                 "tty=true";
    QTest::newRow("attach -i") << QStringList{} << true << false
                               << "?container=c&stderr=true&stdin=true&stdout=true&tty=false";
  }
  void query() {
    QFETCH(QStringList, command);
    QFETCH(bool, input);
    QFETCH(bool, tty);
    QFETCH(QString, expected);
    RemoteCommandQuery q;
    for (const auto& word : command) q.command.push_back(word.toStdString());
    q.container = "c";
    q.input = input;
    q.tty = tty;
    q.errorOutput = !tty;
    QCOMPARE(QString::fromStdString(remoteCommandQuery(q)), expected);
  }

  void exitCodes_data() {
    QTest::addColumn<QString>("status");
    QTest::addColumn<int>("code");
    QTest::newRow("success") << "{\"status\":\"Success\"}" << 0;
    QTest::newRow("exit 3") << "{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\","
                               "\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
                               "\"message\":\"3\"}]}}"
                            << 3;
    QTest::newRow("other failure")
        << "{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"boom\"}" << -1;
    QTest::newRow("no cause") << "{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\"}" << -1;
  }
  void exitCodes() {
    QFETCH(QString, status);
    QFETCH(int, code);
    QCOMPARE(exitCodeOf(json::parse(status.toStdString())), code);
  }

  void portSpecs_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<int>("local");
    QTest::addColumn<int>("remote");  // 0: rejected
    QTest::newRow("same") << "8080" << 8080 << 8080;
    QTest::newRow("pair") << "8080:80" << 8080 << 80;
    QTest::newRow("any local") << ":80" << 0 << 80;
    QTest::newRow("zero local") << "0:80" << 0 << 80;
    QTest::newRow("remote zero") << "80:0" << 0 << 0;
    QTest::newRow("too big") << "70000" << 0 << 0;
    QTest::newRow("name") << "http" << 0 << 0;
  }
  void portSpecs() {
    QFETCH(QString, spec);
    QFETCH(int, local);
    QFETCH(int, remote);
    const auto port = parsePortSpec(spec.toStdString());
    QCOMPARE(port.ok(), remote != 0);
    if (!port.ok()) return;
    QCOMPARE(int(port->local), local);
    QCOMPARE(int(port->remote), remote);
  }
};

QTEST_GUILESS_MAIN(RemoteStreamTest)
#include "remote_stream_test.moc"
