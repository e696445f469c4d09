#include <QtTest>

#include "engine/client/spdy.h"

using namespace kd::client::spdy;

Q_DECLARE_METATYPE(kd::client::spdy::Frame)

namespace {

// Header blocks of the two streams kubectl opens for one forwarded connection, as zlib
// (level 9, 32 KiB window) compresses them one after the other on one stream primed with the
// SPDY/3 dictionary as moby/spdystream ships it (1423 bytes, Adler-32 0xe3c6a7c2).
const std::string kErrorBlock(
    "\x78\xf9\xe3\xc6\xa7\xc2\x02\x25\x3a\x48\xf9\x5b\x04\x4a\xab\x4c\x16\x06\x40\x92\xb3\x08"
    "\x12\x5b\x99\xa0\x54\xcc\x68\x00\x4e\x87\x25\x45\xa9\x89\xb9\xd0\xa2\x86\x35\x15\x14\x11"
    "\x00\x00\x00\x00\xff\xff",
    50);
const std::string kDataBlock("\x22\x4b\x2b\xa8\x94\x4a\x04\x00\x00\x00\xff\xff", 12);

const Headers kErrorHeaders = {{"port", "80"}, {"requestid", "0"}, {"streamtype", "error"}};
const Headers kDataHeaders = {{"port", "80"}, {"requestid", "0"}, {"streamtype", "data"}};

std::string encode(Encoder& encoder, const Frame& f) {
  std::string out;
  const kd::Status s = encoder.encode(f, out);
  if (!s.isOk()) qFatal("encode: %s", s.message().c_str());
  return out;
}

Frame decodeOne(Decoder& decoder) {
  auto f = decoder.next();
  if (!f.ok()) qFatal("decode: %s", f.status().message().c_str());
  if (!*f) qFatal("decode: incomplete frame");
  return **f;
}

Frame synStream(uint32_t id, Headers headers, uint8_t flags = 0) {
  Frame f;
  f.type = FrameType::SynStream;
  f.streamId = id;
  f.priority = 2;
  f.flags = flags;
  f.headers = std::move(headers);
  return f;
}

Frame settings(std::vector<std::pair<uint32_t, uint32_t>> values) {
  Frame f;
  f.type = FrameType::Settings;
  f.settings = std::move(values);
  return f;
}

}  // namespace

class SpdyTest : public QObject {
  Q_OBJECT

 private slots:
  void framesRoundTrip_data() {
    QTest::addColumn<Frame>("frame");
    QTest::newRow("data") << dataFrame(3, "hello");
    QTest::newRow("data fin, empty") << dataFrame(5, "", true);
    QTest::newRow("syn_stream") << synStream(1, kErrorHeaders, kFlagFin);
    QTest::newRow("syn_reply") << synReply(1, {{"a", std::string("x\0y", 3)}});
    QTest::newRow("syn_reply empty") << synReply(7);
    QTest::newRow("rst_stream") << rstStream(9, kCancel);
    QTest::newRow("settings") << settings({{kSettingInitialWindowSize, 1 << 20}, {4, 100}});
    QTest::newRow("ping") << ping(0x80000001u);
    QTest::newRow("goaway") << goAway(11, 2);
    QTest::newRow("window_update") << windowUpdate(3, 12345);
  }
  void framesRoundTrip() {
    QFETCH(Frame, frame);
    Encoder encoder;
    Decoder decoder;
    const std::string bytes = encode(encoder, frame);
    // Delivered one byte at a time: frames may be split anywhere.
    for (size_t i = 0; i + 1 < bytes.size(); ++i) {
      decoder.feed(bytes.substr(i, 1));
      auto partial = decoder.next();
      QVERIFY(partial.ok());
      QVERIFY(!*partial);
    }
    decoder.feed(bytes.substr(bytes.size() - 1));
    const Frame got = decodeOne(decoder);
    QCOMPARE(int(got.type), int(frame.type));
    QCOMPARE(got.flags, frame.flags);
    QCOMPARE(got.streamId, frame.streamId);
    QCOMPARE(got.status, frame.status);
    QCOMPARE(got.value, frame.value);
    QCOMPARE(got.priority, frame.priority);
    QVERIFY(got.headers == frame.headers);
    QVERIFY(got.settings == frame.settings);
    QCOMPARE(got.data, frame.data);
  }

  void dataFrameLayout() {
    Encoder encoder;
    QCOMPARE(encode(encoder, dataFrame(3, "ab", true)),
             std::string("\x00\x00\x00\x03\x01\x00\x00\x02"
                         "ab",
                         10));
    QCOMPARE(encode(encoder, rstStream(1, kCancel)),
             std::string("\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x05", 16));
  }

  // Both directions agree with zlib primed with the reference dictionary, byte for byte, and
  // the compression context carries over from one header block to the next.
  void headerBlocksMatchKnownBytes() {
    Encoder encoder;
    const std::string first = encode(encoder, synReply(1, kErrorHeaders));
    const std::string second = encode(encoder, synReply(3, kDataHeaders));
    QCOMPARE(first.substr(12), kErrorBlock);
    QCOMPARE(second.substr(12), kDataBlock);

    Decoder decoder;
    decoder.feed(first + second);
    QVERIFY(decodeOne(decoder).headers == kErrorHeaders);
    QVERIFY(decodeOne(decoder).headers == kDataHeaders);
  }

  void rejectsBadInput_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("spdy/2") << QByteArray("\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", 12);
    QTest::newRow("short rst_stream") << QByteArray("\x80\x03\x00\x03\x00\x00\x00\x04\0\0\0\1", 12);
    QTest::newRow("garbage header block")
        << QByteArray("\x80\x03\x00\x02\x00\x00\x00\x08\x00\x00\x00\x01\x12\x34\x56\x78", 16);
  }
  void rejectsBadInput() {
    QFETCH(QByteArray, bytes);
    Decoder decoder;
    decoder.feed(std::string_view(bytes.constData(), size_t(bytes.size())));
    QVERIFY(!decoder.next().ok());
  }

  void skipsUnknownControlFrames() {
    Decoder decoder;
    Encoder encoder;
    decoder.feed(std::string("\x80\x03\x00\x0a\x00\x00\x00\x02xy", 10) + encode(encoder, ping(2)));
    QCOMPARE(int(decodeOne(decoder).type), int(FrameType::Ping));
  }

  // A peer that never shows windows (moby/spdystream) is not held to them; one that does is.
  void sendWindows() {
    FlowControl flow;
    flow.openStream(1);
    flow.sent(1, 200000);
    QVERIFY(!flow.peerKeepsWindows());
    QVERIFY(flow.sendable(1) > 1 << 30);
    QCOMPARE(flow.sendWindow(1), kDefaultWindow - 200000);

    FlowControl kept;
    kept.openStream(1);
    kept.openStream(3);
    QVERIFY(kept.windowUpdate(0, 1000).isOk());
    QCOMPARE(kept.sendable(1), kDefaultWindow);
    kept.sent(1, 60000);
    QCOMPARE(kept.sendable(1), kDefaultWindow - 60000);
    QCOMPARE(kept.sendable(3), kDefaultWindow + 1000 - 60000);  // the session window binds
    kept.sent(3, 6536);
    QCOMPARE(kept.sendable(3), 0);
    QVERIFY(kept.windowUpdate(0, 50000).isOk());
    QCOMPARE(kept.sendable(3), 50000);  // the session window binds again
    QVERIFY(kept.windowUpdate(1, 20000).isOk());
    QCOMPARE(kept.sendable(1), kDefaultWindow - 60000 + 20000);
    QVERIFY(!kept.windowUpdate(1, 0x7fffffff).isOk());
    QCOMPARE(kept.sendable(5), 0);  // unknown stream
  }

  void initialWindowSetting() {
    FlowControl flow;
    flow.openStream(1);
    flow.sent(1, 1000);
    flow.settings({{kSettingInitialWindowSize, 1000}});
    QVERIFY(flow.peerKeepsWindows());
    QCOMPARE(flow.sendWindow(1), 0);
    flow.openStream(3);
    QCOMPARE(flow.sendWindow(3), 1000);
  }

  void receiveWindowsGrantedBack() {
    FlowControl flow;
    flow.openStream(1);
    QVERIFY(flow.consumed(1, kDefaultWindow / 2 - 1).empty());
    const auto updates = flow.consumed(1, 1);
    QCOMPARE(updates.size(), size_t(2));
    QCOMPARE(updates[0].streamId, 1u);
    QCOMPARE(updates[0].value, uint32_t(kDefaultWindow / 2));
    QCOMPARE(updates[1].streamId, 0u);
    QCOMPARE(int(updates[1].type), int(FrameType::WindowUpdate));
    // Data of a stream already gone still counts for the session.
    QCOMPARE(flow.consumed(9, kDefaultWindow / 2).size(), size_t(1));
  }
};

QTEST_GUILESS_MAIN(SpdyTest)
#include "spdy_test.moc"
