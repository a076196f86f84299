#pragma once
// Shared plumbing of the shfn subcommands: connection flags, running a coroutine to completion,
// and the one-line error convention (message on stderr, non-zero exit).

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "client/options.h"

namespace shfn::cli {

struct connection_flags {
  std::string url;
  std::string token;
  std::string tls_trust_certs;
  bool tls_allow_insecure = false;
  double timeout_seconds = 30;

  void add_to(CLI::App& app);
  client::client_options options() const;
};

// A flag's value taken from `values` in any case, as Pulsar's tools take Shared or Earliest; the
// command sees it spelled as in `values`. For option->transform().
CLI::Validator one_of(std::vector<std::string> values);

// Runs `body` on a fresh single-threaded io_context and returns its exit code.
int run(std::function<asio::awaitable<int>()> body);

// Prints "shfn: <what>: <detail>" to stderr and returns exit code 1.
int error(const std::string& what, const std::string& detail);

void setup_produce(CLI::App& app, int& exit_code);
void setup_consume(CLI::App& app, int& exit_code);
void setup_display(CLI::App& app, int& exit_code);
void setup_broker(CLI::App& app, int& exit_code);
void setup_validate(CLI::App& app, int& exit_code);
void setup_graph(CLI::App& app, int& exit_code);
void setup_run(CLI::App& app, int& exit_code);
void setup_test(CLI::App& app, int& exit_code);
void setup_image(CLI::App& app, int& exit_code);
void setup_k8s(CLI::App& app, int& exit_code);
void setup_functions(CLI::App& app, int& exit_code);
void setup_topics(CLI::App& app, int& exit_code);
void setup_flows(CLI::App& app, int& exit_code);
void setup_sources(CLI::App& app, int& exit_code);

}  // namespace shfn::cli
