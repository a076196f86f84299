// The shfn binary: one executable, one subcommand per job.

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "cli/common.h"

int main(int argc, char** argv) {
  shfn::log::init("warn");
  CLI::App app{"shfn: shell scripts as functions on Apache Pulsar topics"};
  app.require_subcommand(1);
  int exit_code = 0;
  shfn::cli::setup_produce(app, exit_code);
  shfn::cli::setup_consume(app, exit_code);
  shfn::cli::setup_display(app, exit_code);
  shfn::cli::setup_broker(app, exit_code);
  shfn::cli::setup_validate(app, exit_code);
  shfn::cli::setup_run(app, exit_code);
  shfn::cli::setup_test(app, exit_code);
  shfn::cli::setup_image(app, exit_code);
  shfn::cli::setup_k8s(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      std::fprintf(stderr, "shfn: %s\nRun with --help for usage.\n", e.what());
      return 2;
    }
    return app.exit(e);
  }
  return exit_code;
}
