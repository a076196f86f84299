#pragma once
// The CLI's side of the admin HTTP APIs (`shfn run`'s and the broker's, Pulsar's /admin/v2 and
// /admin/v3): where they are, the token they need, and one call at a time, its failure said in
// words (the network's error, or the status and the API's reason).

#include <CLI/CLI.hpp>
#include <asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "http/http_client.h"

namespace shfn::cli {

struct admin_flags {
  std::string url;
  std::string token;  // sent as Authorization: Bearer, when set
  double timeout_seconds = 30;

  // --admin-url (env SHFN_ADMIN_URL, else `fallback`) and --token (env SHFN_TOKEN).
  void add_to(CLI::App& app, const std::string& fallback, const std::string& what);
};

// The reply when its status is `expected`; else "404 Function x doesn't exist", "Connection
// refused", ... Temporaries may be passed: it is not a coroutine itself.
using admin_reply = tl::expected<http::http_reply, std::string>;
asio::awaitable<admin_reply> admin_call(admin_flags admin, std::string method, std::string path,
                                        int expected = 200, std::string body = {},
                                        std::string content_type = {});

// A multipart/form-data body (RFC 7578), as pulsar-admin sends its forms.
class multipart_form {
 public:
  multipart_form();
  void add(std::string_view name, std::string_view content, std::string_view file_name = {});
  std::string content_type() const { return "multipart/form-data; boundary=" + boundary_; }
  std::string finish() const { return body_ + "--" + boundary_ + "--\r\n"; }

 private:
  std::string boundary_;
  std::string body_;
};

// `trigger`'s flags, as pulsar-admin functions trigger's: the value (exactly one of
// --trigger-value and --trigger-file) and, where there are several inputs, --topic.
struct trigger_flags {
  std::string value, file, topic;

  void add_to(CLI::App& cmd, bool with_topic);
};

// POST `path` (…/{name}/trigger) as pulsar-admin sends it, the value as the form's `data` and
// the topic as its `topic`, and prints the output it answers; the exit code.
asio::awaitable<int> trigger(admin_flags admin, std::string path, trigger_flags t);

// A whole file's bytes, or the error that stopped reading it.
tl::expected<std::string, std::string> read_file(const std::string& path);

}  // namespace shfn::cli
