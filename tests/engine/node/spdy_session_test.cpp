#include <QtTest>

#include "engine/node/remote_command.h"
#include "engine/node/spdy_session.h"

using namespace kd::node::spdy;

class SpdySessionTest : public QObject {
  Q_OBJECT

 private slots:
  // exec/attach over SPDY: the first version in the client's list that the agent speaks, as
  // the kubelet negotiates; channel.k8s.io (v1) alone is refused with 403.
  void negotiatesRemoteCommandProtocols_data() {
    QTest::addColumn<QStringList>("offered");  // X-Stream-Protocol-Version headers
    QTest::addColumn<QString>("chosen");       // "" = refused
    QTest::addColumn<int>("code");
    QTest::newRow("kubectl 1.29") << QStringList{"v4.channel.k8s.io", "v3.channel.k8s.io",
                                                 "v2.channel.k8s.io", "channel.k8s.io"}
                                  << "v4.channel.k8s.io" << 200;
    QTest::newRow("client order") << QStringList{"v3.channel.k8s.io", "v4.channel.k8s.io"}
                                  << "v3.channel.k8s.io" << 200;
    QTest::newRow("one header, comma list")
        << QStringList{"channel.k8s.io, v2.channel.k8s.io"} << "v2.channel.k8s.io" << 200;
    QTest::newRow("v1 only") << QStringList{"channel.k8s.io"} << "" << 403;
    QTest::newRow("none") << QStringList{} << "" << 403;
  }
  void negotiatesRemoteCommandProtocols() {
    QFETCH(QStringList, offered);
    QFETCH(QString, chosen);
    QFETCH(int, code);
    boost::beast::http::request<boost::beast::http::string_body> req;
    req.set(boost::beast::http::field::connection, "Upgrade");
    req.set(boost::beast::http::field::upgrade, "SPDY/3.1");
    for (const auto& p : offered) req.insert("X-Stream-Protocol-Version", p.toStdString());
    QVERIFY(isUpgrade(req));
    const auto protocol = kd::node::negotiateChannels(req, "exec");
    QCOMPARE(protocol.status().code(), code);
    if (protocol.ok()) {
      QVERIFY(!protocol->webSocket);
      QCOMPARE(QString::fromStdString(protocol->name), chosen);
    }
  }

  void remoteCommandNeedsAnUpgrade() {
    boost::beast::http::request<boost::beast::http::string_body> req;
    QCOMPARE(kd::node::negotiateChannels(req, "exec").status().code(), 400);
    req.method(boost::beast::http::verb::get);
    req.set(boost::beast::http::field::connection, "Upgrade");
    req.set(boost::beast::http::field::upgrade, "websocket");
    req.set(boost::beast::http::field::sec_websocket_protocol, "v4.channel.k8s.io, base64.x");
    const auto protocol = kd::node::negotiateChannels(req, "exec");
    QVERIFY(protocol.ok());
    QVERIFY(protocol->webSocket);
    QCOMPARE(protocol->name, std::string("v4.channel.k8s.io"));
  }
};

QTEST_GUILESS_MAIN(SpdySessionTest)
#include "spdy_session_test.moc"
