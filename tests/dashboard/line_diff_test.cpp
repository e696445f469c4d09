// unifiedDiff against the real `diff -u` (GNU diffutils) on the same texts: hunks, ranges and
// context must read the same. Where several minimal diffs exist the two may pick different
// lines, so the cases avoid ambiguous repeats.

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "dashboard/line_diff.h"

using kd::dashboard::unifiedDiff;

namespace {

QString numbered(int from, int to) {
  QString s;
  for (int i = from; i <= to; ++i) s += QStringLiteral("line %1\n").arg(i);
  return s;
}

// `diff -u` of the texts, with its "---"/"+++" lines renamed as unifiedDiff names them.
QString gnuDiff(const QString& before, const QString& after) {
  QTemporaryDir dir;
  auto write = [&](const char* name, const QString& text) {
    QFile f(dir.filePath(name));
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", name);
    f.write(text.toUtf8());
  };
  write("a", before);
  write("b", after);
  QProcess p;
  p.start("diff",
          {"-u", "--label", "live", "--label", "merged", dir.filePath("a"), dir.filePath("b")});
  if (!p.waitForFinished(10000)) qFatal("diff did not finish");
  return QString::fromUtf8(p.readAllStandardOutput());
}

}  // namespace

class LineDiffTest : public QObject {
  Q_OBJECT

 private slots:
  void matchesGnuDiff_data() {
    QTest::addColumn<QString>("before");
    QTest::addColumn<QString>("after");
    const QString base = numbered(1, 30);
    QString changed = base;
    changed.replace("line 15\n", "line fifteen\n");
    QString twoChanges = changed;
    twoChanges.replace("line 2\n", "line two\n").replace("line 29\n", "line 29\nline 29.5\n");
    QString near = base;
    near.replace("line 10\n", "").replace("line 14\n", "line 14b\n");
    QTest::newRow("equal") << base << base;
    QTest::newRow("one line changed") << base << changed;
    QTest::newRow("changes far apart: two hunks") << base << twoChanges;
    QTest::newRow("changes close: one hunk") << base << near;
    QTest::newRow("from nothing") << QString() << numbered(1, 4);
    QTest::newRow("to nothing") << numbered(1, 4) << QString();
    QTest::newRow("added at the end") << numbered(1, 10) << numbered(1, 12);
    QTest::newRow("removed at the start") << numbered(1, 10) << numbered(3, 10);
    QTest::newRow("yaml field") << QString("spec:\n  replicas: 2\n  selector:\n    app: web\n")
                                << QString("spec:\n  replicas: 3\n  selector:\n    app: web\n");
  }

  void matchesGnuDiff() {
    QFETCH(QString, before);
    QFETCH(QString, after);
    QCOMPARE(unifiedDiff(before, after, "live", "merged"), gnuDiff(before, after));
  }
};

QTEST_GUILESS_MAIN(LineDiffTest)
#include "line_diff_test.moc"
