// kdctl: the KubeDesk command line (see engine/client/cli/cli.h).

#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "engine/client/cli/cli.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  std::ios::sync_with_stdio(false);
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int rc = kd::cli::runKdctl(args, std::cin, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}
