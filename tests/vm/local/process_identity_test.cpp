// processMatches: a recorded pid counts only while it is the same program with the same
// identifying argument; a pid reused by anything else, or a zombie, never does.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QtTest>

#include "vm/local/process_identity.h"

namespace {

// A shell that sleeps, with `argv0` as its argv[0] and `flag value` after its script.
// Returns once the child has exec'd: until then /proc/<pid>/cmdline is still this test's.
pid_t spawnSleeper(const char* argv0, const char* flag, const char* value) {
  const char* argv[] = {argv0, "-c", "sleep 30", flag, value, nullptr};
  // The shell's `sleep` child outlives a killed shell: it must not hold ctest's output open.
  posix_spawn_file_actions_t files;
  ::posix_spawn_file_actions_init(&files);
  ::posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_addopen(&files, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned =
      ::posix_spawn(&pid, "/bin/sh", &files, nullptr, const_cast<char* const*>(argv), environ);
  ::posix_spawn_file_actions_destroy(&files);
  if (spawned != 0) return 0;
  for (int i = 0; i < 500 && !kd::vm::processMatches(pid, argv0, flag, value); ++i) {
    ::usleep(10'000);
  }
  return pid;
}

// Kills and reaps the sleeper on every exit path, a failed check included.
struct Reaper {
  pid_t pid;
  ~Reaper() {
    if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
  }
};

}  // namespace

class ProcessIdentityTest : public QObject {
  Q_OBJECT

 private slots:
  void matchesOnlyItsOwnProcess_data() {
    QTest::addColumn<QString>("program");
    QTest::addColumn<QString>("flag");
    QTest::addColumn<QString>("value");
    QTest::addColumn<bool>("matches");
    QTest::newRow("same") << "kubedesk-node"
                          << "--state-dir"
                          << "/x/n1/state" << true;
    QTest::newRow("other node") << "kubedesk-node"
                                << "--state-dir"
                                << "/x/n2/state" << false;
    QTest::newRow("prefix") << "kubedesk-node"
                            << "--state-dir"
                            << "/x/n1/stat" << false;
    QTest::newRow("other flag") << "kubedesk-node"
                                << "--data-dir"
                                << "/x/n1/state" << false;
    QTest::newRow("other program") << "kubedesk-engine"
                                   << "--state-dir"
                                   << "/x/n1/state" << false;
  }

  void matchesOnlyItsOwnProcess() {
    QFETCH(QString, program);
    QFETCH(QString, flag);
    QFETCH(QString, value);
    QFETCH(bool, matches);
    const pid_t pid = spawnSleeper("/opt/kubedesk-node", "--state-dir", "/x/n1/state");
    const Reaper reaper{pid};
    QVERIFY(pid > 0);
    QCOMPARE(
        kd::vm::processMatches(pid, program.toStdString(), flag.toStdString(), value.toStdString()),
        matches);
  }

  void aZombieOrAGonePidNeverMatches() {
    const pid_t pid = spawnSleeper("kubedesk-engine", "--data-dir", "/d");
    Reaper reaper{pid};
    QVERIFY(pid > 0);
    QVERIFY(kd::vm::processMatches(pid, "kubedesk-engine", "--data-dir", "/d"));
    ::kill(pid, SIGKILL);
    QTRY_VERIFY(!kd::vm::processMatches(pid, "kubedesk-engine", "--data-dir", "/d"));  // zombie
    ::waitpid(pid, nullptr, 0);
    reaper.pid = 0;
    QVERIFY(!kd::vm::processMatches(pid, "kubedesk-engine", "--data-dir", "/d"));
    QVERIFY(!kd::vm::processMatches(0, "kubedesk-engine", "--data-dir", "/d"));
  }
};

QTEST_GUILESS_MAIN(ProcessIdentityTest)
#include "process_identity_test.moc"
