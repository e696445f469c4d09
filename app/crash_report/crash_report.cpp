#include "app/crash_report/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>

namespace kd {

namespace {

const char* g_program = "kubedesk";

// Only async-signal-safe calls below: write(2), backtrace_symbols_fd, raise.
void writeText(const char* text) {
  ssize_t unused = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)unused;
}

void writeNumber(long value) {
  char digits[24];
  int n = 0;
  bool negative = value < 0;
  unsigned long v = negative ? -static_cast<unsigned long>(value) : value;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && n < 22);
  if (negative) digits[n++] = '-';
  char text[24];
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  text[n] = '\0';
  writeText(text);
}

void onFatalSignal(int sig) {
  writeText("\n");
  writeText(g_program);
  writeText(": fatal signal ");
  writeNumber(sig);
  writeText(" (");
  writeText(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  writeText(") in thread ");
  writeNumber(static_cast<long>(::syscall(SYS_gettid)));
  writeText("; backtrace:\n");
  void* frames[64];
  const int depth = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, depth, STDERR_FILENO);
  // SA_RESETHAND restored the default action: dying of the same signal keeps the exit status
  // and the core dump what they would have been.
  ::raise(sig);
}

void onTerminate() {
  if (std::exception_ptr current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: uncaught exception: %s\n", g_program, e.what());
    } catch (...) {
      std::fprintf(stderr, "%s: uncaught exception of unknown type\n", g_program);
    }
  } else {
    std::fprintf(stderr, "%s: std::terminate called without an exception\n", g_program);
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace

void installCrashReport(const char* program) {
  g_program = program;
  // backtrace() loads libgcc on first use, which is not safe inside a handler: do it now.
  void* warmUp[1];
  ::backtrace(warmUp, 1);

  static char alternateStack[64 * 1024];
  stack_t stack{};
  stack.ss_sp = alternateStack;
  stack.ss_size = sizeof alternateStack;
  ::sigaltstack(&stack, nullptr);

  struct sigaction action {};
  action.sa_handler = onFatalSignal;
  action.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &action, nullptr);
  std::set_terminate(onTerminate);
}

}  // namespace kd
