// replog: the command line client of a replog cluster (apps/replog/cli.h).

#include <iostream>

#include "apps/replog/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  return replog::cli::RunCli(argc, argv, replog::cli::CliIo{std::cin, std::cout, std::cerr});
}
