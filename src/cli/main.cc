// The shfn binary: one executable, one subcommand per job.

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "base/version.h"
#include "cli/common.h"

namespace {

constexpr const char* exit_codes = R"(
Exit codes, for every command:
  0  done (a command that ran out of messages within --receive-timeout is done too)
  1  it failed: the message on stderr says why
  2  the command line is wrong (an unknown flag or value, flags that exclude each other)
)";

// `shfn help [COMMAND]`, as git and kubectl have it, next to --help.
void setup_help(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("help", "Show the help of shfn or of one of its commands");
  auto command = std::make_shared<std::string>();
  cmd->add_option("command", *command, "The command (default: list the commands)");
  cmd->callback([&app, command, &exit_code] {
    if (command->empty()) {  // (app.help() would show this command's help: it is the one run)
      std::fputs(app.get_formatter()->make_help(&app, "shfn", CLI::AppFormatMode::Normal).c_str(),
                 stdout);
      return;
    }
    CLI::App* sub = nullptr;
    for (auto* candidate : app.get_subcommands({}))
      if (candidate->get_name() == *command) sub = candidate;
    if (sub == nullptr) {
      std::fprintf(stderr, "shfn: no command %s\nRun shfn help for the list.\n", command->c_str());
      exit_code = 2;
      return;
    }
    std::fputs(sub->help().c_str(), stdout);
  });
}

}  // namespace

int main(int argc, char** argv) {
  shfn::log::init("warn");
  CLI::App app{"shfn: shell scripts as functions on Apache Pulsar topics"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "shfn " + std::string(shfn::version()),
                       "Print shfn's version and exit");
  app.footer(exit_codes);
  int exit_code = 0;
  shfn::cli::setup_produce(app, exit_code);
  shfn::cli::setup_consume(app, exit_code);
  shfn::cli::setup_display(app, exit_code);
  shfn::cli::setup_broker(app, exit_code);
  shfn::cli::setup_validate(app, exit_code);
  shfn::cli::setup_graph(app, exit_code);
  shfn::cli::setup_run(app, exit_code);
  shfn::cli::setup_test(app, exit_code);
  shfn::cli::setup_image(app, exit_code);
  shfn::cli::setup_k8s(app, exit_code);
  shfn::cli::setup_functions(app, exit_code);
  shfn::cli::setup_flows(app, exit_code);
  shfn::cli::setup_sources(app, exit_code);
  shfn::cli::setup_topics(app, exit_code);
  setup_help(app, exit_code);
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
