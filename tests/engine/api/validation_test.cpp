#include "engine/api/validation.h"

#include <QtTest>

using kd::json;
using kd::Status;
using kd::api::FieldValidation;
using kd::api::KindInfo;
using kd::api::KindsRegistry;
using kd::api::SchemaRegistry;
using kd::api::TypeDef;
using kd::api::validateAgainstSchema;
using kd::api::validateObject;

namespace {

const KindInfo& kindOf(const QString& name) {
  const KindInfo* k = KindsRegistry::builtin().resolve(name.toStdString());
  if (!k) qFatal("unknown kind %s", qPrintable(name));
  return *k;
}

const char* const kPod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},
  "spec":{"containers":[{"name":"web","image":"nginx:1.25"}]}})";

const char* const kDeployment = R"({"apiVersion":"apps/v1","kind":"Deployment",
  "metadata":{"name":"web"},
  "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
    "template":{"metadata":{"labels":{"app":"web"}},
      "spec":{"containers":[{"name":"web","image":"nginx"}]}}}})";

const char* const kJob = R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi"},
  "spec":{"template":{"spec":{"restartPolicy":"Never",
    "containers":[{"name":"pi","image":"perl"}]}}}})";

const char* const kCronJob =
    R"({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"tick"},
  "spec":{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"template":{"spec":{
    "restartPolicy":"OnFailure","containers":[{"name":"tick","image":"busybox"}]}}}}}})";

const char* const kService = R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
  "spec":{"selector":{"app":"web"},"ports":[{"port":80}]}})";

const char* const kConfigMap = R"({"apiVersion":"v1","kind":"ConfigMap",
  "metadata":{"name":"cfg"},"data":{"a.conf":"x"}})";

const char* const kStatefulSet = R"({"apiVersion":"apps/v1","kind":"StatefulSet",
  "metadata":{"name":"db"},
  "spec":{"serviceName":"db","selector":{"matchLabels":{"app":"db"}},
    "template":{"metadata":{"labels":{"app":"db"}},
      "spec":{"containers":[{"name":"db","image":"postgres"}]}}}})";

const char* const kPvc = R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
  "metadata":{"name":"data"},
  "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}})";

const char* baseFor(const QString& kind) {
  static const std::map<QString, const char*> kBases = {{"pod", kPod},
                                                        {"deployment", kDeployment},
                                                        {"job", kJob},
                                                        {"cronjob", kCronJob},
                                                        {"service", kService},
                                                        {"configmap", kConfigMap},
                                                        {"statefulset", kStatefulSet},
                                                        {"pvc", kPvc}};
  return kBases.at(kind);
}

// The base manifest of a kind with a JSON merge patch applied.
json manifest(const QString& kind, const QString& patch) {
  json object = json::parse(baseFor(kind));
  if (!patch.isEmpty()) object.merge_patch(json::parse(patch.toStdString()));
  return object;
}

QString causesOf(const Status& s) {
  QStringList out;
  for (const auto& c : s.causes()) {
    out << QString::fromStdString(c.field + ": " + c.message + " (" + c.reason + ")");
  }
  return out.join("\n");
}

bool hasCause(const Status& s, const std::string& field, const std::string& message) {
  for (const auto& c : s.causes()) {
    if (c.field == field && c.message == message) return true;
  }
  return false;
}

// A small schema of our own, so the schema layer is tested apart from the builtin tables.
SchemaRegistry widgetSchemas() {
  using kd::api::field;
  std::vector<TypeDef> types;
  types.push_back(
      {"test.v1.Widget",
       "",
       {field("apiVersion", "string", ""), field("kind", "string", ""),
        field("metadata", "test.v1.NotInRegistry", ""), field("spec", "test.v1.WidgetSpec", "")},
       false});
  types.push_back({"test.v1.WidgetSpec",
                   "",
                   {field("replicas", "integer", ""), field("big", "int64", ""),
                    field("name", "string", ""), field("ratio", "number", ""),
                    field("enabled", "boolean", ""), field("ports", "[]test.v1.Port", ""),
                    field("labels", "map[string]string", ""), field("size", "Quantity", ""),
                    field("target", "IntOrString", ""), field("extra", "RawJSON", ""),
                    field("free", "test.v1.Missing", ""), field("open", "test.v1.Open", ""),
                    field("data", "map[string]byte", ""), field("when", "Time", "")},
                   false});
  types.push_back({"test.v1.Port", "", {field("number", "integer", "")}, false});
  types.push_back({"test.v1.Open", "", {field("known", "string", "")}, true});
  return SchemaRegistry(std::move(types));
}

KindInfo widgetKind() {
  KindInfo k;
  k.group = "test";
  k.version = "v1";
  k.kind = "Widget";
  k.resource = "widgets";
  k.schemaType = "test.v1.Widget";
  return k;
}

json widget(const QString& spec) {
  return json{{"apiVersion", "test/v1"},
              {"kind", "Widget"},
              {"metadata", {{"name", "w"}}},
              {"spec", json::parse(spec.toStdString())}};
}

}  // namespace

class ValidationTest : public QObject {
  Q_OBJECT
 private slots:
  // --- the messages kubectl prints ------------------------------------------------------------

  void deploymentNegativeReplicasMessage() {
    Status s = validateObject(kindOf("deployments"),
                              manifest("deployment", R"({"spec":{"replicas":-1}})"), nullptr);
    QCOMPARE(s.code(), 422);
    QCOMPARE(s.reason(), std::string("Invalid"));
    QCOMPARE(s.message(), std::string("Deployment.apps \"web\" is invalid: spec.replicas: Invalid "
                                      "value: -1: must be greater than or equal to 0"));
    QCOMPARE(s.causes().size(), size_t(1));
    QCOMPARE(s.causes()[0].reason, std::string("FieldValueInvalid"));
    json j = s.toJson();
    QCOMPARE(j["details"]["name"], json("web"));
    QCOMPARE(j["details"]["group"], json("apps"));
    QCOMPARE(j["details"]["kind"], json("Deployment"));
  }

  void podMissingImageMessage() {
    Status s = validateObject(
        kindOf("pods"), manifest("pod", R"({"spec":{"containers":[{"name":"web"}]}})"), nullptr);
    QCOMPARE(s.message(),
             std::string("Pod \"web\" is invalid: spec.containers[0].image: Required value"));
    QCOMPARE(s.causes()[0].reason, std::string("FieldValueRequired"));
    QCOMPARE(s.causes()[0].field, std::string("spec.containers[0].image"));
  }

  void severalCausesAreBracketed() {
    Status s = validateObject(
        kindOf("deployments"),
        manifest("deployment", R"({"spec":{"replicas":-1,"revisionHistoryLimit":-2}})"), nullptr);
    QCOMPARE(s.message(),
             std::string("Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: "
                         "must be greater than or equal to 0, spec.revisionHistoryLimit: Invalid "
                         "value: -2: must be greater than or equal to 0]"));
  }

  // --- kind rules: one manifest change, one expected cause ------------------------------------

  void kindRules_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("message");
    const QString subdomainMsg =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
        "regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    QTest::newRow("name required") << "pod"
                                   << R"({"metadata":{"name":null}})"
                                   << "metadata.name"
                                   << "Required value: name or generateName is required";
    QTest::newRow("name subdomain") << "pod"
                                    << R"({"metadata":{"name":"Web_1"}})"
                                    << "metadata.name"
                                    << "Invalid value: \"Web_1\": " + subdomainMsg;
    QTest::newRow("service name is DNS-1035")
        << "service"
        << R"({"metadata":{"name":"1web"}})"
        << "metadata.name"
        << "Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric "
           "characters or '-', start with an alphabetic character, and end with an alphanumeric "
           "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
           "'[a-z]([-a-z0-9]*[a-z0-9])?')";
    QTest::newRow("label value")
        << "pod"
        << R"({"metadata":{"labels":{"app":"-bad"}}})"
        << "metadata.labels"
        << "Invalid value: \"-bad\": a valid label must be an empty string or consist of "
           "alphanumeric characters, '-', '_' or '.', and must start and end with an "
           "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
           "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    QTest::newRow("restartPolicy values") << "pod"
                                          << R"({"spec":{"restartPolicy":"Sometimes"}})"
                                          << "spec.restartPolicy"
                                          << "Unsupported value: \"Sometimes\": supported values: "
                                             "\"Always\", \"OnFailure\", \"Never\"";
    QTest::newRow("containers required") << "pod"
                                         << R"({"spec":{"containers":[]}})"
                                         << "spec.containers"
                                         << "Required value";
    QTest::newRow("container port range")
        << "pod"
        << R"({"spec":{"containers":[{"name":"web","image":"x","ports":[{"containerPort":70000}]}]}})"
        << "spec.containers[0].ports[0].containerPort"
        << "Invalid value: 70000: must be between 1 and 65535, inclusive";
    QTest::newRow("port protocol")
        << "pod"
        << R"({"spec":{"containers":[{"name":"web","image":"x","ports":[{"containerPort":80,"protocol":"HTTP"}]}]}})"
        << "spec.containers[0].ports[0].protocol"
        << "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"";
    QTest::newRow("container names unique with init containers")
        << "pod"
        << R"({"spec":{"initContainers":[{"name":"web","image":"x"}]}})"
        << "spec.containers[0].name"
        << "Duplicate value: \"web\"";
    QTest::newRow("container name is a label")
        << "pod"
        << R"({"spec":{"containers":[{"name":"a.b","image":"x"}]}})"
        << "spec.containers[0].name"
        << "Invalid value: \"a.b\": must not contain dots";
    QTest::newRow("volume mount names a volume")
        << "pod"
        << R"({"spec":{"containers":[{"name":"web","image":"x","volumeMounts":[{"name":"data","mountPath":"/d"}]}]}})"
        << "spec.containers[0].volumeMounts[0].name"
        << "Not found: \"data\"";
    QTest::newRow("volume names unique")
        << "pod"
        << R"({"spec":{"volumes":[{"name":"v","emptyDir":{}},{"name":"v","emptyDir":{}}]}})"
        << "spec.volumes[1].name"
        << "Duplicate value: \"v\"";
    QTest::newRow("env name")
        << "pod"
        << R"({"spec":{"containers":[{"name":"web","image":"x","env":[{"name":"A=B"}]}]}})"
        << "spec.containers[0].env[0].name"
        << "Invalid value: \"A=B\": a valid environment variable name must consist only of "
           "printable ASCII characters other than '='";
    QTest::newRow("requests within limits")
        << "pod"
        << R"({"spec":{"containers":[{"name":"web","image":"x","resources":{"requests":{"cpu":"2"},"limits":{"cpu":"1500m"}}}]}})"
        << "spec.containers[0].resources.requests"
        << "Invalid value: \"2\": must be less than or equal to cpu limit of 1500m";
    QTest::newRow("probe period")
        << "pod"
        << R"({"spec":{"containers":[{"name":"web","image":"x","readinessProbe":{"periodSeconds":-1,"tcpSocket":{"port":80}}}]}})"
        << "spec.containers[0].readinessProbe.periodSeconds"
        << "Invalid value: -1: must be greater than or equal to 0";
    QTest::newRow("probe handler")
        << "pod"
        << R"({"spec":{"containers":[{"name":"web","image":"x","livenessProbe":{"periodSeconds":5}}]}})"
        << "spec.containers[0].livenessProbe"
        << "Required value: must specify a handler type";
    QTest::newRow("selector required") << "deployment"
                                       << R"({"spec":{"selector":null}})"
                                       << "spec.selector"
                                       << "Required value";
    QTest::newRow("selector matches template")
        << "deployment"
        << R"({"spec":{"selector":{"matchLabels":{"app":"api"}}}})"
        << "spec.template.metadata.labels"
        << "Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`";
    QTest::newRow("template restartPolicy Always")
        << "deployment"
        << R"({"spec":{"template":{"spec":{"restartPolicy":"Never"}}}})"
        << "spec.template.spec.restartPolicy"
        << "Unsupported value: \"Never\": supported values: \"Always\"";
    QTest::newRow("template image required")
        << "deployment"
        << R"({"spec":{"template":{"spec":{"containers":[{"name":"web"}]}}}})"
        << "spec.template.spec.containers[0].image"
        << "Required value";
    QTest::newRow("surge and unavailable not both 0")
        << "deployment"
        << R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":0,"maxUnavailable":0}}}})"
        << "spec.strategy.rollingUpdate.maxUnavailable"
        << "Invalid value: 0: may not be 0 when `maxSurge` is 0";
    QTest::newRow("strategy type")
        << "deployment"
        << R"({"spec":{"strategy":{"type":"BlueGreen"}}})"
        << "spec.strategy.type"
        << "Unsupported value: \"BlueGreen\": supported values: \"Recreate\", \"RollingUpdate\"";
    QTest::newRow("job restartPolicy defaults to Always, which jobs refuse")
        << "job"
        << R"({"spec":{"template":{"spec":{"restartPolicy":null}}}})"
        << "spec.template.spec.restartPolicy"
        << "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"";
    QTest::newRow("job backoffLimit") << "job"
                                      << R"({"spec":{"backoffLimit":-1}})"
                                      << "spec.backoffLimit"
                                      << "Invalid value: -1: must be greater than or equal to 0";
    QTest::newRow("job completionMode")
        << "job"
        << R"({"spec":{"completionMode":"Sometimes"}})"
        << "spec.completionMode"
        << "Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", \"Indexed\"";
    QTest::newRow("cron schedule required") << "cronjob"
                                            << R"({"spec":{"schedule":null}})"
                                            << "spec.schedule"
                                            << "Required value";
    QTest::newRow("cron five fields")
        << "cronjob"
        << R"({"spec":{"schedule":"* * *"}})"
        << "spec.schedule"
        << "Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]";
    QTest::newRow("cron range")
        << "cronjob"
        << R"({"spec":{"schedule":"61 * * * *"}})"
        << "spec.schedule"
        << "Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61";
    QTest::newRow("cron name")
        << "cronjob"
        << R"({"spec":{"schedule":"0 0 * FOO *"}})"
        << "spec.schedule"
        << "Invalid value: \"0 0 * FOO *\": failed to parse int from FOO: strconv.Atoi: parsing "
           "\"FOO\": invalid syntax";
    QTest::newRow("cron descriptor")
        << "cronjob"
        << R"({"spec":{"schedule":"@sometimes"}})"
        << "spec.schedule"
        << "Invalid value: \"@sometimes\": unrecognized descriptor: @sometimes";
    QTest::newRow("cron time zone")
        << "cronjob"
        << R"({"spec":{"timeZone":"Mars/Olympus"}})"
        << "spec.timeZone"
        << "Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus";
    QTest::newRow("cron concurrencyPolicy")
        << "cronjob"
        << R"({"spec":{"concurrencyPolicy":"Never"}})"
        << "spec.concurrencyPolicy"
        << "Unsupported value: \"Never\": supported values: \"Allow\", \"Forbid\", \"Replace\"";
    QTest::newRow("cron job template restartPolicy")
        << "cronjob"
        << R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Always"}}}}}})"
        << "spec.jobTemplate.spec.template.spec.restartPolicy"
        << "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"";
    QTest::newRow("service ports required") << "service"
                                            << R"({"spec":{"ports":null}})"
                                            << "spec.ports"
                                            << "Required value";
    QTest::newRow("service port range")
        << "service"
        << R"({"spec":{"ports":[{"port":0}]}})"
        << "spec.ports[0].port"
        << "Invalid value: 0: must be between 1 and 65535, inclusive";
    QTest::newRow("service nodePort range")
        << "service"
        << R"({"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":80}]}})"
        << "spec.ports[0].nodePort"
        << "Invalid value: 80: provided port is not in the valid range. The range of valid ports "
           "is 30000-32767";
    QTest::newRow("service type")
        << "service"
        << R"({"spec":{"type":"Internal"}})"
        << "spec.type"
        << "Unsupported value: \"Internal\": supported values: \"ClusterIP\", \"ExternalName\", "
           "\"LoadBalancer\", \"NodePort\"";
    QTest::newRow("service port names unique")
        << "service"
        << R"({"spec":{"ports":[{"name":"http","port":80},{"name":"http","port":81}]}})"
        << "spec.ports[1].name"
        << "Duplicate value: \"http\"";
    QTest::newRow("service port names required when several")
        << "service"
        << R"({"spec":{"ports":[{"name":"http","port":80},{"port":81}]}})"
        << "spec.ports[1].name"
        << "Required value";
    QTest::newRow("service clusterIP")
        << "service"
        << R"({"spec":{"clusterIP":"10.0.0.300"}})"
        << "spec.clusterIP"
        << "Invalid value: \"10.0.0.300\": must be empty, 'None', or a valid IP address";
    QTest::newRow("configmap key")
        << "configmap"
        << R"({"data":{"bad key":"x"}})"
        << "data[bad key]"
        << "Invalid value: \"bad key\": a valid config key must consist of alphanumeric "
           "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
           "used for validation is '[-._a-zA-Z0-9]+')";
    QTest::newRow("statefulset selector")
        << "statefulset"
        << R"({"spec":{"selector":{"matchLabels":null}}})"
        << "spec.selector"
        << "Invalid value: {}: empty selector is invalid for statefulset";
    QTest::newRow("statefulset mounts neither volume nor claim template")
        << "statefulset"
        << R"({"spec":{"template":{"spec":{"containers":[{"name":"db","image":"postgres",
             "volumeMounts":[{"name":"data","mountPath":"/data"}]}]}}}})"
        << "spec.template.spec.containers[0].volumeMounts[0].name"
        << "Not found: \"data\"";
    QTest::newRow("pvc access modes") << "pvc"
                                      << R"({"spec":{"accessModes":null}})"
                                      << "spec.accessModes"
                                      << "Required value: at least 1 access mode is required";
  }
  void kindRules() {
    QFETCH(QString, kind);
    QFETCH(QString, patch);
    QFETCH(QString, field);
    QFETCH(QString, message);
    Status s = validateObject(kindOf(kind), manifest(kind, patch), nullptr);
    QCOMPARE(s.code(), 422);
    QVERIFY2(hasCause(s, field.toStdString(), message.toStdString()),
             qPrintable("causes were:\n" + causesOf(s)));
  }

  void validManifestsPass_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("patch");
    for (const char* kind :
         {"pod", "deployment", "job", "cronjob", "service", "configmap", "statefulset", "pvc"}) {
      QTest::newRow(kind) << kind << "";
    }
    // Kubernetes' own example StatefulSet: containers mount their volumeClaimTemplates.
    QTest::newRow("statefulset mounts a claim template")
        << "statefulset"
        << R"({"spec":{"template":{"spec":{"containers":[{"name":"db","image":"postgres",
             "volumeMounts":[{"name":"data","mountPath":"/data"}]}]}},
             "volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":
             ["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}})";
    QTest::newRow("generateName only") << "pod"
                                       << R"({"metadata":{"name":null,"generateName":"web-"}})";
    QTest::newRow("cron descriptor") << "cronjob"
                                     << R"({"spec":{"schedule":"@hourly"}})";
    QTest::newRow("cron names, ranges, steps")
        << "cronjob"
        << R"({"spec":{"schedule":"0/15 1-5,22 */2 JAN-MAR mon-fri"}})";
    QTest::newRow("cron time zone") << "cronjob"
                                    << R"({"spec":{"timeZone":"Europe/Berlin"}})";
    QTest::newRow("headless service without ports")
        << "service"
        << R"({"spec":{"clusterIP":"None","ports":null}})";
    QTest::newRow("ipv6 clusterIP") << "service"
                                    << R"({"spec":{"clusterIP":"fd00::10"}})";
    QTest::newRow("percent rollout")
        << "deployment"
        << R"({"spec":{"strategy":{"rollingUpdate":{"maxSurge":"0%","maxUnavailable":"10%"}}}})";
    QTest::newRow("match expressions")
        << "deployment"
        << R"({"spec":{"selector":{"matchLabels":null,"matchExpressions":[{"key":"app","operator":"In","values":["web","api"]}]}}})";
    QTest::newRow("requests below limits")
        << "pod"
        << R"({"spec":{"containers":[{"name":"web","image":"x","resources":{"requests":{"memory":"512Mi"},"limits":{"memory":"1Gi"}}}]}})";
  }
  void validManifestsPass() {
    QFETCH(QString, kind);
    QFETCH(QString, patch);
    Status s = validateObject(kindOf(kind), manifest(kind, patch), nullptr);
    QVERIFY2(s.isOk(), s.message().c_str());
  }

  void wrongTypesNeverCrash() {
    for (const char* kind :
         {"pod", "deployment", "job", "cronjob", "service", "configmap", "statefulset", "pvc"}) {
      for (const char* spec : {R"("x")", "5", "[]", R"({"containers":"x","template":7,"ports":{}})",
                               R"({"selector":[],"strategy":"x","jobTemplate":[1]})"}) {
        json o = manifest(kind, "");
        o["spec"] = json::parse(spec);
        o["metadata"]["labels"] = json::array();
        o["data"] = 3;
        validateObject(kindOf(kind), o, &o);
      }
      validateObject(kindOf(kind), json("not an object"), nullptr);
    }
  }

  // --- updates -------------------------------------------------------------------------------

  void immutableOnUpdate_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("oldPatch");
    QTest::addColumn<QString>("newPatch");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("message");
    QTest::newRow("deployment selector")
        << "deployment"
        << ""
        << R"({"spec":{"selector":{"matchLabels":{"app":"web","tier":"x"}},"template":{"metadata":{"labels":{"tier":"x"}}}}})"
        << "spec.selector"
        << "Invalid value: {\"matchLabels\":{\"app\":\"web\",\"tier\":\"x\"}}: field is immutable";
    QTest::newRow("statefulset spec")
        << "statefulset"
        << ""
        << R"({"spec":{"serviceName":"other"}})"
        << "spec"
        << "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
           "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
           "'minReadySeconds' are forbidden";
    QTest::newRow("job template")
        << "job"
        << ""
        << R"({"spec":{"template":{"spec":{"restartPolicy":"OnFailure"}}}})"
        << "spec.template"
        << "Invalid value: {\"spec\":{\"containers\":[{\"image\":\"perl\",\"name\":\"pi\"}],"
           "\"restartPolicy\":\"OnFailure\"}}: field is immutable";
    QTest::newRow("immutable configmap") << "configmap"
                                         << R"({"immutable":true})"
                                         << R"({"immutable":true,"data":{"a.conf":"y"}})"
                                         << "data"
                                         << "Forbidden: field is immutable when `immutable` is set";
    QTest::newRow("service clusterIP") << "service"
                                       << R"({"spec":{"clusterIP":"10.96.0.10"}})"
                                       << R"({"spec":{"clusterIP":"10.96.0.11"}})"
                                       << "spec.clusterIP"
                                       << "Invalid value: \"10.96.0.11\": field is immutable";
    QTest::newRow("pvc spec")
        << "pvc"
        << ""
        << R"({"spec":{"storageClassName":"fast"}})"
        << "spec"
        << "Forbidden: spec is immutable after creation except resources.requests and "
           "volumeAttributesClassName for bound claims";
  }
  void immutableOnUpdate() {
    QFETCH(QString, kind);
    QFETCH(QString, oldPatch);
    QFETCH(QString, newPatch);
    QFETCH(QString, field);
    QFETCH(QString, message);
    const KindInfo& info = kindOf(kind);
    json old = manifest(kind, oldPatch);
    QVERIFY2(validateObject(info, old, &old).isOk(), "an unchanged object must validate");
    Status s = validateObject(info, manifest(kind, newPatch), &old);
    QVERIFY2(hasCause(s, field.toStdString(), message.toStdString()),
             qPrintable("causes were:\n" + causesOf(s)));
  }

  void allowedUpdatesPass() {
    json old = manifest("deployment", "");
    QVERIFY(validateObject(kindOf("deployments"),
                           manifest("deployment", R"({"spec":{"replicas":5}})"), &old)
                .isOk());
    json sts = manifest("statefulset", "");
    QVERIFY(validateObject(kindOf("statefulsets"),
                           manifest("statefulset", R"({"spec":{"replicas":3}})"), &sts)
                .isOk());
    json pvc = manifest("pvc", "");
    QVERIFY(validateObject(
                kindOf("pvc"),
                manifest(
                    "pvc",
                    R"({"spec":{"resources":{"requests":{"storage":"2Gi"}},"volumeName":"pv-1"}})"),
                &pvc)
                .isOk());
  }

  // --- name helpers --------------------------------------------------------------------------

  void nameHelpers() {
    QCOMPARE(kd::api::checkDns1123Label("web-1"), std::string());
    QCOMPARE(kd::api::checkDns1123Label("a.b"), std::string("must not contain dots"));
    QCOMPARE(kd::api::checkDns1123Subdomain(std::string(254, 'a')),
             std::string("must be no more than 253 characters"));
    QCOMPARE(kd::api::checkLabelKey("example.com/app"), std::string());
    QVERIFY(kd::api::checkLabelKey("a/b/c").starts_with("a valid label key"));
    QCOMPARE(kd::api::checkLabelKey("/app"), std::string("prefix part must be non-empty"));
    QCOMPARE(kd::api::checkLabelValue(""), std::string());
    QCOMPARE(kd::api::checkLabelValue(std::string(64, 'a')),
             std::string("must be no more than 63 bytes"));
  }

  void fieldValidationParameter() {
    QCOMPARE(*kd::api::parseFieldValidation(""), FieldValidation::Warn);
    QCOMPARE(*kd::api::parseFieldValidation("Strict"), FieldValidation::Strict);
    QCOMPARE(*kd::api::parseFieldValidation("Ignore"), FieldValidation::Ignore);
    QCOMPARE(kd::api::parseFieldValidation("strict").status().code(), 400);
  }

  // --- schema layer ----------------------------------------------------------------------------

  void unknownFieldsFollowTheMode() {
    SchemaRegistry schemas = widgetSchemas();
    json w = widget(
        R"({"foo":1,"ports":[{"number":1,"bar":2}],"open":{"anything":1},"free":{"x":{"y":1}}})");
    std::vector<std::string> warnings;
    Status strict =
        validateAgainstSchema(widgetKind(), w, FieldValidation::Strict, schemas, &warnings);
    QCOMPARE(strict.code(), 400);
    QCOMPARE(strict.message(),
             std::string("Widget in version \"v1\" cannot be handled as a Widget: strict decoding "
                         "error: unknown field \"spec.foo\", unknown field \"spec.ports[0].bar\""));
    QVERIFY(warnings.empty());

    QVERIFY(
        validateAgainstSchema(widgetKind(), w, FieldValidation::Warn, schemas, &warnings).isOk());
    QCOMPARE(warnings, (std::vector<std::string>{"unknown field \"spec.foo\"",
                                                 "unknown field \"spec.ports[0].bar\""}));
    warnings.clear();
    QVERIFY(
        validateAgainstSchema(widgetKind(), w, FieldValidation::Ignore, schemas, &warnings).isOk());
    QVERIFY(warnings.empty());
  }

  void wrongTypes_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("error");  // "" = accepted
    const QString go = "json: cannot unmarshal ";
    QTest::newRow("string for int32")
        << R"({"replicas":"3"})"
        << go + "string into Go struct field WidgetSpec.spec.replicas of type int32";
    QTest::newRow("fraction for int32")
        << R"({"replicas":1.5})"
        << go + "number 1.5 into Go struct field WidgetSpec.spec.replicas of type int32";
    QTest::newRow("overflow int32")
        << R"({"replicas":3000000000})"
        << go + "number 3000000000 into Go struct field WidgetSpec.spec.replicas of type int32";
    QTest::newRow("int64 fits") << R"({"big":3000000000})"
                                << "";
    QTest::newRow("object for list")
        << R"({"ports":{}})"
        << go + "object into Go struct field WidgetSpec.spec.ports of type []v1.Port";
    QTest::newRow("list item field")
        << R"({"ports":[{"number":"x"}]})"
        << go + "string into Go struct field Port.spec.ports.number of type int32";
    QTest::newRow("string for list item")
        << R"({"ports":["x"]})"
        << go + "string into Go struct field WidgetSpec.spec.ports of type v1.Port";
    QTest::newRow("number for string")
        << R"({"name":5})"
        << go + "number into Go struct field WidgetSpec.spec.name of type string";
    QTest::newRow("string for bool")
        << R"({"enabled":"true"})"
        << go + "string into Go struct field WidgetSpec.spec.enabled of type bool";
    QTest::newRow("map value")
        << R"({"labels":{"a":1}})"
        << go + "number into Go struct field WidgetSpec.spec.labels of type string";
    QTest::newRow("int for float") << R"({"ratio":2})"
                                   << "";
    QTest::newRow("null anywhere") << R"({"replicas":null,"ports":null,"name":null})"
                                   << "";
    QTest::newRow("intorstring int") << R"({"target":8080})"
                                     << "";
    QTest::newRow("intorstring string") << R"({"target":"http"})"
                                        << "";
    QTest::newRow("intorstring bool")
        << R"({"target":true})"
        << go + "bool into Go struct field WidgetSpec.spec.target of type int32";
    QTest::newRow("quantity string") << R"({"size":"1.5Gi"})"
                                     << "";
    QTest::newRow("quantity number") << R"({"size":0.5})"
                                     << "";
    QTest::newRow("quantity exponent") << R"({"size":"1e3"})"
                                       << "";
    QTest::newRow("quantity garbage") << R"({"size":"lots"})"
                                      << "quantities must match the regular expression "
                                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
    QTest::newRow("quantity suffix") << R"({"size":"1iK"})"
                                     << "unable to parse quantity's suffix";
    QTest::newRow("raw json") << R"({"extra":[1,{"a":"b"},null]})"
                              << "";
    QTest::newRow("unknown type is free") << R"({"free":[1,2]})"
                                          << "";
    QTest::newRow("base64") << R"({"data":{"k":"aGVsbG8="}})"
                            << "";
    QTest::newRow("bad base64") << R"({"data":{"k":"!!!!"}})"
                                << "illegal base64 data at input byte 0";
    QTest::newRow("time") << R"({"when":"2024-01-01T00:00:00Z"})"
                          << "";
    QTest::newRow("string for spec")
        << R"("x")" << go + "string into Go struct field Widget.spec of type v1.WidgetSpec";
  }
  void wrongTypes() {
    QFETCH(QString, spec);
    QFETCH(QString, error);
    SchemaRegistry schemas = widgetSchemas();
    Status s = validateAgainstSchema(widgetKind(), widget(spec), FieldValidation::Strict, schemas,
                                     nullptr);
    if (error.isEmpty()) {
      QVERIFY2(s.isOk(), s.message().c_str());
      return;
    }
    QCOMPARE(s.code(), 400);
    QCOMPARE(QString::fromStdString(s.message()),
             "Widget in version \"v1\" cannot be handled as a Widget: " + error);
  }

  void builtinSchemas() {
    const SchemaRegistry& schemas = SchemaRegistry::builtin();
    if (!schemas.type("core.v1.Pod") || !schemas.type("apps.v1.Deployment")) {
      QSKIP("builtin schemas not written yet");
    }
    json pod = json::parse(kPod);
    QVERIFY2(validateAgainstSchema(kindOf("pods"), pod, FieldValidation::Strict, schemas, nullptr)
                 .isOk(),
             "a plain pod must decode");
    pod["spec"]["containers"][0]["imagePullPolicyy"] = "Always";
    Status s =
        validateAgainstSchema(kindOf("pods"), pod, FieldValidation::Strict, schemas, nullptr);
    QCOMPARE(s.message(), std::string("Pod in version \"v1\" cannot be handled as a Pod: strict "
                                      "decoding error: unknown field "
                                      "\"spec.containers[0].imagePullPolicyy\""));
    json deploy = json::parse(kDeployment);
    QVERIFY(validateAgainstSchema(kindOf("deployments"), deploy, FieldValidation::Strict, schemas,
                                  nullptr)
                .isOk());
    deploy["spec"]["replicas"] = "3";
    s = validateAgainstSchema(kindOf("deployments"), deploy, FieldValidation::Strict, schemas,
                              nullptr);
    QCOMPARE(
        s.message(),
        std::string("Deployment in version \"v1\" cannot be handled as a Deployment: json: "
                    "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas "
                    "of type int32"));
  }
};

QTEST_GUILESS_MAIN(ValidationTest)
#include "validation_test.moc"
