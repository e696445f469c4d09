// End to end: `kdctl get -o yaml` prints, byte for byte, what the real kubectl prints for the
// same object read from a real kubedesk-engine, for values that exercise each rule of go-yaml
// v2's output (quoting, folding, literal blocks, indentation, key order).

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include "engine_process.h"

namespace {

const QString kKdctl = QStringLiteral(KD_BINARY_DIR "/bin/kdctl");
const QString kNs = QStringLiteral("yaml-e2e");

// The first line where two printouts part, with both versions, for a failure message.
QString firstDifference(const QString& kdctl, const QString& kubectl) {
  const QStringList a = kdctl.split('\n'), b = kubectl.split('\n');
  for (qsizetype i = 0; i < std::max(a.size(), b.size()); ++i) {
    const QString left = a.value(i, "<end>"), right = b.value(i, "<end>");
    if (left != right) {
      return "line " + QString::number(i + 1) + "\n  kdctl:   " + left + "\n  kubectl: " + right;
    }
  }
  return "identical";
}

const QString kLongWords =
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco";

// Values for a ConfigMap's data and annotations, one per go-yaml rule.
QJsonObject trickyValues() {
  const QStringList values = {
      // read back as another type: quoted
      "8080", "true", "True", "null", "", "~", "y", "no", "off", "1.5", "1e3", ".5", "0x1F", "0o17",
      "0b101", "1_000", "+1", "-1", "1:20", "2024-01-02", "2024-01-02T03:04:05Z",
      "2024-01-02 03:04:05", ".inf", "-.inf", ".nan",
      // look like numbers or dates, but are not: plain
      "2024-13-02", "1.2.3", "0x", "1e", "v1", "500m", "<<", "0b2",
      // indicators
      "-", "- x", "-x", "?x", "? x", ":x", ": x", "a: b", "a:b", "a:", "a #b", "a#b", "#x", "!x",
      "&x", "*x", "|x", ">x", "'x", "\"x", "%x", "@x", "`x", "[x", "x]", "{x", "x,y", "---", "---x",
      "...", "it's", "'quoted'",
      // spaces and non-printable characters (not DEL or NEL: kubectl cannot print those, its
      // YAML reader of the JSON refuses DEL and folds NEL into a space; not LINE SEPARATOR:
      // kubectl writes it raw, toYaml escapes it so that yaml-cpp reads it back)
      " lead", "trail ", "in  side", "tab\there", "bell\x07", "back\\slash", "quote\"x",
      QString::fromUtf8("caf\xc3\xa9"), QString::fromUtf8("smile \xf0\x9f\x98\x80"),
      QString::fromUtf8("nbsp\xc2\xa0x"), QString::fromUtf8("bom\xef\xbb\xbfx"),
      // folding past 80 columns, in each style
      kLongWords, kLongWords + ": colon", kLongWords + "\ttab", "- " + kLongWords,
      QString(kLongWords).replace(" ", "  "), QString(120, 'x') + " " + QString(10, 'y'),
      // multi-line
      "a\nb", "a\nb\n", "a\nb\n\n", "\n", "\nx", " x\ny", "x \ny", "x\n y", "x\ny ", "x\r\ny",
      "x\n\ty", "a\n\n\nb", kLongWords + "\n" + kLongWords + "\n"};
  QJsonObject out;
  for (qsizetype i = 0; i < values.size(); ++i) out["v" + QString::number(i)] = values[i];
  return out;
}

}  // namespace

class KdctlYamlE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_{{}, {"--simulated-nodes", "1"}};

  CommandResult kd(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input, kKdctl);
  }
  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }

  static QByteArray json(const QJsonObject& object) {
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
  }

 private slots:
  void initTestCase() {
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    CMD_OK(k({"create", "namespace", kNs}));
    const QJsonObject values = trickyValues();
    QJsonObject keys;  // go-yaml orders keys naturally: a9 before a10, "_" before letters
    for (const char* key : {"a10", "a9", "a_b", "aB", "A", "b-c", "b.c", "b0", "b00", "b01", "true",
                            "8080", "y", "1e3", "x.y_z-1"}) {
      keys[key] = "k";
    }
    const QJsonObject tricky{{"apiVersion", "v1"},
                             {"kind", "ConfigMap"},
                             {"metadata", QJsonObject{{"name", "tricky"}, {"annotations", values}}},
                             {"data", values}};
    CMD_OK(k({"create", "-n", kNs, "-f", "-"}, json(tricky)));
    QJsonObject data = keys;
    data[QString(130, 'k')] = "a key too long for a simple key";
    const QJsonObject sorted{{"apiVersion", "v1"},
                             {"kind", "ConfigMap"},
                             {"metadata", QJsonObject{{"name", "sorted"}, {"labels", keys}}},
                             {"data", data}};
    // apply: its last-applied annotation is one long line of JSON ending in a newline
    CMD_OK(k({"apply", "-n", kNs, "-f", "-"}, json(sorted)));
    CMD_OK(k({"create", "-n", kNs, "configmap", "empty"}));
    // Floats as the engine stores them (kubectl would send 3.0 as 3): the engine keeps fields
    // it does not know, and kdctl sends numbers as written.
    CMD_OK(kd({"create", "-n", kNs, "-f", "-"},
              "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": "
              "\"numbers\"}, \"extra\": {\"half\": 0.5, \"whole\": 3.0, \"million\": 1e6, "
              "\"big\": 1234567.5, \"tiny\": 1e-7, \"huge\": 18446744073709551615, "
              "\"list\": [1.0, -0.0, 0.0001, 0.00001, 1e21]}}"));
    CMD_OK(k({"create", "deployment", "web", "-n", kNs, "--image=nginx:1.25", "--replicas=2",
              "--port=8080", "--", "sh", "-c", "echo 'hi: there' # not a comment"}));
    CMD_OK(
        k({"create", "service", "clusterip", "web", "-n", kNs, "--tcp=80:8080", "--tcp=443:8443"}));
    CMD_OK(k({"run", "solo", "-n", kNs, "--image=busybox", "--labels=app=solo,tier=",
              "--env=EMPTY=", "--env=PORT=8080", "--command", "--", "sleep", "3600"}));
    CMD_OK(k({"wait", "--for=condition=Available", "deploy/web", "-n", kNs, "--timeout=60s"}));
    CMD_OK(k({"wait", "--for=condition=Ready", "pod/solo", "-n", kNs, "--timeout=60s"}));
  }

  void getYamlMatchesKubectl_data() {
    QTest::addColumn<QStringList>("target");
    QTest::newRow("config map with tricky values") << QStringList{"configmap", "tricky"};
    QTest::newRow("applied config map, key order") << QStringList{"configmap", "sorted"};
    QTest::newRow("empty config map") << QStringList{"configmap", "empty"};
    QTest::newRow("floats") << QStringList{"configmap", "numbers"};
    QTest::newRow("deployment") << QStringList{"deployment", "web"};
    QTest::newRow("service") << QStringList{"service", "web"};
    QTest::newRow("pod") << QStringList{"pod", "solo"};
    QTest::newRow("list of config maps") << QStringList{"configmap"};
    QTest::newRow("namespace") << QStringList{"namespace", kNs};
  }

  void getYamlMatchesKubectl() {
    QFETCH(QStringList, target);
    const QStringList args = target + QStringList{"-n", kNs, "-o", "yaml"};
    const CommandResult kubectl = k(QStringList{"get"} + args);
    CMD_OK(kubectl);
    const CommandResult kdctl = kd(QStringList{"get"} + args);
    CMD_OK(kdctl);
    KD_VERIFY2(kdctl.out == kubectl.out, qPrintable(firstDifference(kdctl.out, kubectl.out)));
  }

  // What kdctl printed reads back, in kubectl, as the object it was.
  void printedYamlReadsBackInKubectl() {
    const CommandResult printed = kd({"get", "configmap", "tricky", "-n", kNs, "-o", "yaml"});
    CMD_OK(printed);
    const CommandResult read =
        k({"create", "--dry-run=client", "-o", "json", "-f", "-"}, printed.out.toUtf8());
    CMD_OK(read);
    const QJsonObject object = QJsonDocument::fromJson(read.out.toUtf8()).object();
    QCOMPARE(object["data"].toObject(), trickyValues());
  }
};

QTEST_GUILESS_MAIN(KdctlYamlE2eTest)
#include "kdctl_yaml_e2e_test.moc"
