#pragma once
// Makes a daemon's death readable in its log. After installCrashReport("kubedesk-engine"), a
// fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) prints the program, the signal, the
// thread and a backtrace to stderr before the default action runs (so core dumps still
// happen), and an uncaught exception prints its type's what() before std::abort.
//
// Call once from main before any thread starts. On the main thread the handler runs on an
// alternate stack, so a stack overflow there is reported too.

namespace kd {

void installCrashReport(const char* program);

}  // namespace kd
