#include "engine/api/selectors.h"

#include <QtTest>

using kd::json;
using kd::api::FieldSelector;
using kd::api::KindInfo;
using kd::api::KindsRegistry;
using kd::api::Labels;
using kd::api::LabelSelector;
using kd::api::labelsOf;

namespace {

Labels labelsFromJson(const QString& text) {
  return labelsOf(json{{"metadata", {{"labels", json::parse(text.toStdString())}}}});
}

const KindInfo& kindNamed(const char* name) {
  const KindInfo* kind = KindsRegistry::builtin().resolve(name);
  Q_ASSERT(kind);
  return *kind;
}

}  // namespace

class SelectorsTest : public QObject {
  Q_OBJECT
 private slots:
  void labelSelectorMatches_data() {
    QTest::addColumn<QString>("selector");
    QTest::addColumn<QString>("labels");
    QTest::addColumn<bool>("expected");
    QTest::newRow("empty selects everything") << ""
                                              << R"({"a":"b"})" << true;
    QTest::newRow("empty selects unlabeled") << "   "
                                             << "{}" << true;
    QTest::newRow("equals") << "a=b"
                            << R"({"a":"b"})" << true;
    QTest::newRow("equals other value") << "a=b"
                                        << R"({"a":"c"})" << false;
    QTest::newRow("equals missing key") << "a=b"
                                        << "{}" << false;
    QTest::newRow("double equals") << "a==b"
                                   << R"({"a":"b"})" << true;
    QTest::newRow("not equals other value") << "a!=b"
                                            << R"({"a":"c"})" << true;
    QTest::newRow("not equals missing key") << "a!=b"
                                            << "{}" << true;
    QTest::newRow("not equals same value") << "a!=b"
                                           << R"({"a":"b"})" << false;
    QTest::newRow("in hit") << "a in (x,y)"
                            << R"({"a":"y"})" << true;
    QTest::newRow("in miss") << "a in (x,y)"
                             << R"({"a":"z"})" << false;
    QTest::newRow("in missing key") << "a in (x,y)"
                                    << "{}" << false;
    QTest::newRow("notin missing key") << "a notin (x)"
                                       << "{}" << true;
    QTest::newRow("notin hit") << "a notin (x)"
                               << R"({"a":"x"})" << false;
    QTest::newRow("exists") << "a"
                            << R"({"a":""})" << true;
    QTest::newRow("exists missing") << "a"
                                    << R"({"b":"a"})" << false;
    QTest::newRow("does not exist") << "!a"
                                    << R"({"b":"1"})" << true;
    QTest::newRow("does not exist present") << "!a"
                                            << R"({"a":"1"})" << false;
    QTest::newRow("all must hold") << "a=1,b in (2,3),!c"
                                   << R"({"a":"1","b":"3"})" << true;
    QTest::newRow("one fails") << "a=1,b in (2,3),!c"
                               << R"({"a":"1","b":"3","c":"x"})" << false;
    QTest::newRow("whitespace tolerated") << "  a = 1 ,  b  notin ( x , y )  "
                                          << R"({"a":"1","b":"z"})" << true;
    QTest::newRow("in is a value word") << "a=in"
                                        << R"({"a":"in"})" << true;
    QTest::newRow("empty exact value") << "a="
                                       << R"({"a":""})" << true;
    QTest::newRow("empty set member") << "a in (,x)"
                                      << R"({"a":""})" << true;
    QTest::newRow("prefixed key") << "app.kubernetes.io/name=web"
                                  << R"({"app.kubernetes.io/name":"web"})" << true;
  }
  void labelSelectorMatches() {
    QFETCH(QString, selector);
    QFETCH(QString, labels);
    QFETCH(bool, expected);
    auto parsed = LabelSelector::parse(selector.toStdString());
    QVERIFY2(parsed.ok(), parsed.status().message().c_str());
    QCOMPARE(parsed->matches(labelsFromJson(labels)), expected);
  }

  void labelSelectorErrors_data() {
    QTest::addColumn<QString>("selector");
    QTest::addColumn<QString>("messagePart");
    QTest::newRow("two operators") << "a=b=c"
                                   << "found '=', expected: ',' or 'end of string'";
    QTest::newRow("missing operator") << "a b"
                                      << "found 'b', expected: in, notin";
    QTest::newRow("in without parens") << "a in b"
                                       << "expected: '('";
    QTest::newRow("unclosed set") << "a in (x"
                                  << "expected: ',', ')' or identifier";
    QTest::newRow("trailing comma") << "a=b,"
                                    << "expected: identifier after ','";
    QTest::newRow("leading comma") << ",a"
                                   << "expected: !, identifier";
    QTest::newRow("bad key start") << "-a=b"
                                   << "key: Invalid value: \"-a\": name part must";
    QTest::newRow("bad value") << "a=-b"
                               << "values[0]: Invalid value: \"-b\"";
    QTest::newRow("two slashes") << "a/b/c=d"
                                 << "a qualified name must consist";
    QTest::newRow("uppercase prefix") << "Example.com/a=b"
                                      << "prefix part a lowercase RFC 1123";
    QTest::newRow("empty prefix") << "/a"
                                  << "prefix part must be non-empty";
    QTest::newRow("long name") << QString(64, 'a') + "=b"
                               << "no more than 63 characters";
    QTest::newRow("long value") << "a=" + QString(64, 'b') << "no more than 63 characters";
    QTest::newRow("bad symbol") << "a=>b"
                                << "expected";
  }
  void labelSelectorErrors() {
    QFETCH(QString, selector);
    QFETCH(QString, messagePart);
    auto parsed = LabelSelector::parse(selector.toStdString());
    QVERIFY(!parsed.ok());
    QCOMPARE(parsed.status().code(), 400);
    QVERIFY2(parsed.status().message().find(messagePart.toStdString()) != std::string::npos,
             parsed.status().message().c_str());
  }

  void requirementErrorsAreWrapped() {
    auto parsed = LabelSelector::parse("a=b,c=-d");
    QVERIFY(!parsed.ok());
    QVERIFY2(parsed.status().message().rfind("unable to parse requirement: ", 0) == 0,
             parsed.status().message().c_str());
  }

  void canonicalStringSortsByKey() {
    auto parsed = LabelSelector::parse("d, b==1 ,a in (y,x,y),!c,e notin (z)");
    QVERIFY(parsed.ok());
    QCOMPARE(QString::fromStdString(parsed->toString()),
             QString("a in (x,y),b=1,!c,d,e notin (z)"));
    auto again = LabelSelector::parse(parsed->toString());
    QVERIFY(again.ok());
    QCOMPARE(again->toString(), parsed->toString());
    QCOMPARE(parsed->requirements().size(), size_t(5));
    QVERIFY(parsed->requirements()[2].op == LabelSelector::Op::DoesNotExist);
  }

  void fromJson_data() {
    QTest::addColumn<QString>("selector");
    QTest::addColumn<QString>("labels");
    QTest::addColumn<bool>("expected");
    QTest::newRow("empty object selects all") << "{}"
                                              << R"({"a":"b"})" << true;
    QTest::newRow("null selects nothing") << "null"
                                          << R"({"a":"b"})" << false;
    QTest::newRow("null selects nothing unlabeled") << "null"
                                                    << "{}" << false;
    QTest::newRow("matchLabels") << R"({"matchLabels":{"app":"web"}})"
                                 << R"({"app":"web"})" << true;
    QTest::newRow("matchLabels miss") << R"({"matchLabels":{"app":"web"}})"
                                      << R"({"app":"db"})" << false;
    const char* both =
        R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In",)"
        R"("values":["fe","be"]},{"key":"canary","operator":"DoesNotExist"}]})";
    QTest::newRow("labels and expressions") << both << R"({"app":"web","tier":"be"})" << true;
    QTest::newRow("expression fails") << both << R"({"app":"web","tier":"x"})" << false;
    QTest::newRow("does not exist fails")
        << both << R"({"app":"web","tier":"fe","canary":""})" << false;
    QTest::newRow("notin")
        << R"({"matchExpressions":[{"key":"a","operator":"NotIn","values":["x"]}]})"
        << "{}" << true;
    QTest::newRow("exists") << R"({"matchExpressions":[{"key":"a","operator":"Exists"}]})"
                            << R"({"a":"1"})" << true;
  }
  void fromJson() {
    QFETCH(QString, selector);
    QFETCH(QString, labels);
    QFETCH(bool, expected);
    auto parsed = LabelSelector::fromJson(json::parse(selector.toStdString()));
    QVERIFY2(parsed.ok(), parsed.status().message().c_str());
    QCOMPARE(parsed->matches(labelsFromJson(labels)), expected);
  }

  void fromJsonEmptiness() {
    QVERIFY(LabelSelector::fromJson(json::object())->empty());
    QVERIFY(!LabelSelector::fromJson(json())->empty());
    QVERIFY(!LabelSelector::nothing().matches({}));
    auto sorted = LabelSelector::fromJson(json::parse(
        R"({"matchLabels":{"z":"1"},"matchExpressions":[{"key":"a","operator":"In","values":["q","p"]}]})"));
    QVERIFY(sorted.ok());
    QCOMPARE(QString::fromStdString(sorted->toString()), QString("a in (p,q),z=1"));
  }

  void fromJsonErrors_data() {
    QTest::addColumn<QString>("selector");
    QTest::addColumn<QString>("messagePart");
    QTest::newRow("in without values") << R"({"matchExpressions":[{"key":"a","operator":"In"}]})"
                                       << "values set can't be empty";
    QTest::newRow("notin with empty values")
        << R"({"matchExpressions":[{"key":"a","operator":"NotIn","values":[]}]})"
        << "values set can't be empty";
    QTest::newRow("exists with values")
        << R"({"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]})"
        << "values set must be empty";
    QTest::newRow("unknown operator")
        << R"({"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]})"
        << "\"Gt\" is not a valid label selector operator";
    QTest::newRow("bad label key") << R"({"matchLabels":{"-a":"b"}})"
                                   << "key: Invalid value";
    QTest::newRow("bad label value") << R"({"matchLabels":{"a":"b c"}})"
                                     << "values[0]: Invalid value: \"b c\"";
  }
  void fromJsonErrors() {
    QFETCH(QString, selector);
    QFETCH(QString, messagePart);
    auto parsed = LabelSelector::fromJson(json::parse(selector.toStdString()));
    QVERIFY(!parsed.ok());
    QCOMPARE(parsed.status().code(), 400);
    QVERIFY2(parsed.status().message().find(messagePart.toStdString()) != std::string::npos,
             parsed.status().message().c_str());
  }

  void fieldSelectorSupport_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("selector");
    QTest::addColumn<QString>("error");  // empty when the selector is accepted
    QTest::newRow("pod node") << "pods"
                              << "spec.nodeName=n1"
                              << "";
    QTest::newRow("pod many") << "pods"
                              << "status.phase!=Running,spec.restartPolicy==Always,"
                                 "spec.schedulerName=s,spec.serviceAccountName=sa,"
                                 "spec.hostNetwork=true,status.podIP=1.2.3.4,"
                                 "status.nominatedNodeName=n,metadata.name=p,"
                                 "metadata.namespace=default"
                              << "";
    QTest::newRow("pod unsupported") << "pods"
                                     << "spec.foo=x"
                                     << "field label not supported: spec.foo";
    QTest::newRow("node unschedulable") << "nodes"
                                        << "spec.unschedulable=false"
                                        << "";
    QTest::newRow("node namespace") << "nodes"
                                    << "metadata.namespace=x"
                                    << "field label not supported: metadata.namespace";
    QTest::newRow("event fields") << "events"
                                  << "involvedObject.kind=Pod,involvedObject.name=p,"
                                     "involvedObject.uid=u,involvedObject.fieldPath=f,reason=r,"
                                     "reportingComponent=c,source=s,type=Warning"
                                  << "";
    QTest::newRow("event unsupported") << "events"
                                       << "message=x"
                                       << "field label not supported: message";
    QTest::newRow("secret type") << "secrets"
                                 << "type=Opaque"
                                 << "";
    QTest::newRow("namespace phase") << "namespaces"
                                     << "status.phase=Active"
                                     << "";
    QTest::newRow("service fields") << "services"
                                    << "spec.clusterIP=None,spec.type=NodePort"
                                    << "";
    QTest::newRow("job successful") << "jobs"
                                    << "status.successful=1"
                                    << "";
    QTest::newRow("job unsupported") << "jobs"
                                     << "spec.parallelism=1"
                                     << "field label \"spec.parallelism\" not supported for "
                                        "batchv1.Job";
    QTest::newRow("replicaset replicas") << "replicasets"
                                         << "status.replicas=0"
                                         << "";
    QTest::newRow("deployment name") << "deployments"
                                     << "metadata.name=web"
                                     << "";
    QTest::newRow("deployment unsupported")
        << "deployments"
        << "spec.replicas=1"
        << "\"spec.replicas\" is not a known field selector: only \"metadata.name\", "
           "\"metadata.namespace\"";
    QTest::newRow("no operator") << "pods"
                                 << "metadata.name"
                                 << "invalid selector: 'metadata.name'; can't understand "
                                    "'metadata.name'";
    QTest::newRow("bad escape") << "pods"
                                << "metadata.name=a\\b"
                                << "invalid field selector: invalid escape sequence: \\b";
  }
  void fieldSelectorSupport() {
    QFETCH(QString, kind);
    QFETCH(QString, selector);
    QFETCH(QString, error);
    auto parsed = FieldSelector::parse(selector.toStdString(), kindNamed(qPrintable(kind)));
    if (error.isEmpty()) {
      QVERIFY2(parsed.ok(), parsed.status().message().c_str());
      QVERIFY(!parsed->empty());
    } else {
      QVERIFY(!parsed.ok());
      QCOMPARE(parsed.status().code(), 400);
      QCOMPARE(QString::fromStdString(parsed.status().message()), error);
    }
  }

  void fieldSelectorMatches_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("selector");
    QTest::addColumn<QString>("object");
    QTest::addColumn<bool>("expected");
    const char* pod =
        R"({"kind":"Pod","metadata":{"name":"p","namespace":"ns"},"spec":{"nodeName":"n1"},)"
        R"("status":{"phase":"Running","podIPs":[{"ip":"10.0.0.5"}]}})";
    QTest::newRow("empty") << "pods"
                           << "" << pod << true;
    QTest::newRow("node equals") << "pods"
                                 << "spec.nodeName=n1" << pod << true;
    QTest::newRow("node differs") << "pods"
                                  << "spec.nodeName=n2" << pod << false;
    QTest::newRow("node not equals") << "pods"
                                     << "spec.nodeName!=n2" << pod << true;
    QTest::newRow("legacy spec.host") << "pods"
                                      << "spec.host=n1" << pod << true;
    QTest::newRow("two terms") << "pods"
                               << "status.phase=Running,metadata.namespace=ns" << pod << true;
    QTest::newRow("two terms one fails") << "pods"
                                         << "status.phase=Running,metadata.name=q" << pod << false;
    QTest::newRow("hostNetwork defaults false") << "pods"
                                                << "spec.hostNetwork=false" << pod << true;
    QTest::newRow("podIP from podIPs") << "pods"
                                       << "status.podIP=10.0.0.5" << pod << true;
    QTest::newRow("unscheduled pod") << "pods"
                                     << "spec.nodeName="
                                     << R"({"spec":{}})" << true;
    QTest::newRow("escaped comma") << "pods"
                                   << "metadata.name=a\\,b"
                                   << R"({"metadata":{"name":"a,b"}})" << true;
    QTest::newRow("node schedulable") << "nodes"
                                      << "spec.unschedulable=false"
                                      << R"({"metadata":{"name":"n"}})" << true;
    QTest::newRow("node cordoned") << "nodes"
                                   << "spec.unschedulable=true"
                                   << R"({"spec":{"unschedulable":true}})" << true;
    QTest::newRow("job successful count") << "jobs"
                                          << "status.successful=2"
                                          << R"({"status":{"succeeded":2}})" << true;
    QTest::newRow("job no successes") << "jobs"
                                      << "status.successful=0"
                                      << R"({"status":{}})" << true;
    QTest::newRow("event source falls back")
        << "events"
        << "source=kubedesk-node,involvedObject.name=p"
        << R"({"involvedObject":{"name":"p"},"reportingController":"kubedesk-node"})" << true;
    QTest::newRow("events.k8s.io regarding")
        << "events.events.k8s.io"
        << "regarding.name=p,reportingController=c"
        << R"({"regarding":{"name":"p"},"reportingController":"c"})" << true;
  }
  void fieldSelectorMatches() {
    QFETCH(QString, kind);
    QFETCH(QString, selector);
    QFETCH(QString, object);
    QFETCH(bool, expected);
    auto parsed = FieldSelector::parse(selector.toStdString(), kindNamed(qPrintable(kind)));
    QVERIFY2(parsed.ok(), parsed.status().message().c_str());
    QCOMPARE(parsed->matches(json::parse(object.toStdString())), expected);
  }

  void fieldValueRendersScalars() {
    json pod =
        json::parse(R"({"spec":{"hostNetwork":true,"nodeName":"n"},"status":{"podIP":"1.1.1.1"}})");
    QCOMPARE(FieldSelector::fieldValue(pod, "spec.hostNetwork"), std::string("true"));
    QCOMPARE(FieldSelector::fieldValue(pod, "status.podIP"), std::string("1.1.1.1"));
    QCOMPARE(FieldSelector::fieldValue(pod, "spec.nodeName"), std::string("n"));
    QCOMPARE(FieldSelector::fieldValue(pod, "spec.missing"), std::string());
    json rs = json::parse(R"({"status":{"replicas":3}})");
    QCOMPARE(FieldSelector::fieldValue(rs, "status.replicas"), std::string("3"));
  }
};

QTEST_GUILESS_MAIN(SelectorsTest)
#include "selectors_test.moc"
