// The exec shell terminal against a real kubedesk-engine and a real kubedesk-node agent running
// busybox under runc, on the offscreen platform: typed commands run and their output is
// rendered, Ctrl-C interrupts, a resize reaches the remote terminal, the exit code of the
// shell is shown, and a refused session says why. Also the libvterm screen on its own
// (attributes, colours, scrollback). Simulated nodes run no commands, so this needs root.

#include <unistd.h>

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QtTest>

#include "dashboard/cluster_session.h"
#include "dashboard/main_window.h"
#include "dashboard/terminal_view.h"
#include "dashboard/vterm_screen.h"
#include "tests/dashboard/node_session.h"
#include "tests/e2e/node_agent_process.h"

using kd::dashboard::ClusterSession;
using kd::dashboard::TerminalDisplay;
using kd::dashboard::TerminalView;
using kd::dashboard::VtermScreen;

namespace {

const QStringList kSleeper = {"sleep", "3600"};

// Bold red "red", then plain "plain", in the terminal's encoding.
const char* const kStyled = "\x1b[1;31mred\x1b[0m plain\x1b[7mrev\x1b[0m";

bool hasLine(const QString& text, const QString& line) {
  return text.split('\n').contains(line);
}

}  // namespace

class TerminalViewTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  NodeAgentProcess agent_{engine_};
  std::unique_ptr<ClusterSession> session_;

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  kd::json pod(const QString& name) {
    auto r = session_->client().get(*kd::api::KindsRegistry::builtin().resolve("pods"), "default",
                                    name.toStdString());
    if (!r.ok()) qWarning("get pod %s: %s", qPrintable(name), r.status().message().c_str());
    return r.ok() ? *r : kd::json();
  }
  // Types `line` and Enter into the terminal.
  static void type(TerminalView& view, const QString& line) {
    QTest::keyClicks(view.display(), line);
    QTest::keyClick(view.display(), Qt::Key_Return);
  }

 private slots:
  void screenRendersAttributesAndKeepsScrollback() {
    VtermScreen screen(5, 20, 100);
    QRegion damaged;
    screen.onDamage = [&](const QRect& r) { damaged += r; };
    screen.write(kStyled);
    QCOMPARE(screen.lineText(0), QString("red plainrev"));
    const VtermScreen::Cell red = screen.cell(0, 0);
    QVERIFY(red.bold);
    QVERIFY(red.fg.red() > 150 && red.fg.green() < 100);
    QCOMPARE(screen.cell(0, 4).fg, screen.defaultForeground());
    QVERIFY(!screen.cell(0, 4).bold);
    QVERIFY(screen.cell(0, 9).reverse);
    QVERIFY(damaged.contains(QPoint(0, 0)) && !damaged.contains(QPoint(0, 3)));
    QCOMPARE(screen.cursor(), QPoint(12, 0));
    // 30 lines through 5 rows: the first 26 scrolled off (the cursor waits on a blank row).
    std::string lines;
    for (int i = 1; i <= 30; ++i) lines += "\r\nline " + std::to_string(i);
    screen.write(lines);
    QCOMPARE(screen.scrollbackSize(), 26);
    QCOMPARE(screen.lineText(-1), QString("line 25"));
    QCOMPARE(screen.lineText(4), QString("line 30"));
    // Growing the screen brings scrolled-off lines back.
    screen.resize(8, 20);
    QCOMPARE(screen.scrollbackSize(), 23);
    QCOMPARE(screen.lineText(0), QString("line 23"));
    // Keys come out as a terminal sends them.
    QByteArray out;
    screen.onOutput = [&](std::string_view b) { out.append(b.data(), qsizetype(b.size())); };
    screen.key(VTERM_KEY_UP, VTERM_MOD_NONE);
    screen.character(U'c', VTERM_MOD_CTRL);
    screen.key(VTERM_KEY_ENTER, VTERM_MOD_NONE);
    QCOMPARE(out, QByteArray("\x1b[A\x03\r"));
  }

  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    QStandardPaths::setTestModeEnabled(true);
    QString why;
    session_ = startNodeSession(engine_, agent_, &why);
    KD_VERIFY2(session_, qPrintable(why));
    CMD_OK(k({"apply", "-f", "-"}, busyboxPod("shell", "n1", "Always", kSleeper)));
    KD_VERIFY2(
        waitFor(
            [&] {
              return k({"get", "pod", "shell", "-o", "jsonpath={.status.phase}"}).out == "Running";
            },
            60000),
        qPrintable(agent_.log()));
  }

  void cleanupTestCase() {
    session_.reset();
    if (engine_.url().isEmpty()) return;
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }

  void shellRunsResizesAndEnds() {
    TerminalView view(session_->clientPtr());
    view.resize(700, 400);
    view.show();
    QSignalSpy ended(&view, &TerminalView::sessionEnded);
    view.execInto(pod("shell"));
    QCOMPARE(view.target(), QString("pod/shell"));
    QCOMPARE(view.container(), QString("main"));
    QVERIFY(view.running());
    type(view, "echo $((6*7))");
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(view.screenText(), "42"), qPrintable(view.screenText()),
                              20000);

    // Ctrl-C interrupts the foreground command and the shell reads on.
    // The shell takes keys typed ahead while it edits the line, so wait for the command to run.
    type(view, "echo sleeping$((1)); sleep 600");
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(view.screenText(), "sleeping1"),
                              qPrintable(view.screenText()), 20000);
    QTest::keyClick(view.display(), Qt::Key_C, Qt::ControlModifier);
    type(view, "echo after$((1+1))");
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(view.screenText(), "after2"), qPrintable(view.screenText()),
                              20000);

    // A larger widget is a larger terminal, on the remote side too.
    const int rows = view.display()->rows(), cols = view.display()->cols();
    view.resize(900, 600);
    QTRY_VERIFY(view.display()->rows() > rows && view.display()->cols() > cols);
    type(view, "stty size");
    const QString size =
        QStringLiteral("%1 %2").arg(view.display()->rows()).arg(view.display()->cols());
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(view.screenText(), size), qPrintable(view.screenText()),
                              20000);

    type(view, "exit 3");
    QTRY_COMPARE_WITH_TIMEOUT(ended.size(), 1, 20000);
    QCOMPARE(ended.first().first().toInt(), 3);
    QCOMPARE(view.exitCode(), 3);
    QVERIFY(!view.running());
    KD_VERIFY2(hasLine(view.screenText(), "session ended (exit code 3)"),
               qPrintable(view.screenText()));
    QCOMPARE(view.statusLabel()->text(), QString("session ended (exit code 3)"));
  }

  void copyAndPasteGoThroughTheClipboard() {
    TerminalView view(session_->clientPtr());
    view.resize(700, 400);
    view.show();
    view.execInto(pod("shell"));
    QApplication::clipboard()->setText("echo pasted$((2+3))\n");
    QTest::keyClick(view.display(), Qt::Key_V, Qt::ControlModifier | Qt::ShiftModifier);
    QTRY_VERIFY2_WITH_TIMEOUT(hasLine(view.screenText(), "pasted5"), qPrintable(view.screenText()),
                              20000);
    // Selecting the output line with the mouse and Ctrl+Shift+C copies it.
    const QStringList lines = view.screenText().split('\n');
    const int row = int(lines.indexOf("pasted5"));
    TerminalDisplay* d = view.display();
    const int cellHeight = d->viewport()->height() / d->rows();
    const int y = row * cellHeight + cellHeight / 2;
    QTest::mousePress(d->viewport(), Qt::LeftButton, {}, QPoint(0, y));
    QMouseEvent move(QEvent::MouseMove, QPointF(d->viewport()->width() - 1, y),
                     d->viewport()->mapToGlobal(QPointF(d->viewport()->width() - 1, y)),
                     Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(d->viewport(), &move);
    QCOMPARE(d->selectedText(), QString("pasted5"));
    QTest::keyClick(d, Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(QApplication::clipboard()->text(), QString("pasted5"));
  }

  void refusedSessionSaysWhy() {
    TerminalView view(session_->clientPtr());
    view.resize(700, 400);
    view.show();
    QSignalSpy ended(&view, &TerminalView::sessionEnded);
    view.execInto(pod("shell"), "nosuch");
    QTRY_COMPARE_WITH_TIMEOUT(ended.size(), 1, 20000);
    QCOMPARE(ended.first().first().toInt(), -1);
    const QString why = "container nosuch is not valid for pod shell";
    QCOMPARE(view.statusLabel()->text(), "session ended: " + why);
    KD_VERIFY2(hasLine(view.screenText(), "session ended: " + why), qPrintable(view.screenText()));
    QVERIFY(!view.running());
  }

  // The main window's Shell action opens a closable tab with a shell in the selected pod.
  void mainWindowShellActionOpensTab() {
    kd::dashboard::MainWindow window(session_.get());
    window.resize(1000, 700);
    window.show();
    QVERIFY(window.showSection("pods"));
    QTRY_VERIFY_WITH_TIMEOUT(window.selectKey("default/shell"), 15000);
    TerminalView* shell = window.openShell();
    QVERIFY(shell);
    QCOMPARE(shell->target(), QString("pod/shell"));
    auto* tabs = window.findChild<QTabWidget*>();
    QVERIFY(tabs);
    QCOMPARE(tabs->currentWidget(), shell);
    type(*shell, "echo $((40+2))");
    QTRY_VERIFY_WITH_TIMEOUT(hasLine(shell->screenText(), "42"), 20000);
    QSignalSpy closed(shell, &QObject::destroyed);
    emit tabs->tabCloseRequested(tabs->indexOf(shell));
    QVERIFY(closed.wait(5000) || !closed.isEmpty());  // the session ends with its tab
    QVERIFY(window.showSection("services"));
    QVERIFY(!window.openShell());  // not a pod
  }
};

QTEST_MAIN(TerminalViewTest)
#include "terminal_view_test.moc"
