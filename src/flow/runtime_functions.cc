// runtime's half that serves Pulsar's functions API (/admin/v3/functions/public/default/...):
// reading the Functions' instances, stopping and starting them, triggering one, and creating,
// updating and deleting them (kept in the function_store). The JSON shapes are
// function_admin.h's.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "base/bytes.h"
#include "base/clock.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "config/spec.h"
#include "event/uuid.h"
#include "flow/runtime.h"
#include "http/form.h"
#include "wire/topic_name.h"

namespace shfn::flow {

using asio::awaitable;

namespace {

// One message with `key` on `topic`, through a producer made for it; once stored.
awaitable<result<void>> publish_once(client::client* c, std::string topic, std::string key,
                                     std::string payload) {
  // Named, not a braced temporary: GCC 12 destroys a temporary coroutine argument twice.
  const client::producer_options options{.topic = topic};
  auto producer = co_await c->create_producer(options);
  if (!producer) co_return fail(producer.error());
  const client::outgoing_message m{.payload = bytes(payload.begin(), payload.end()), .key = key};
  auto sent = co_await (*producer)->send(m);
  co_await (*producer)->close();
  if (!sent) co_return fail(sent.error());
  co_return result<void>{};
}

// The first message with `key` that `outputs` receives before `deadline`, as the answer; 408
// without one. What else comes is acknowledged and passed over.
awaitable<http::http_response> output_with_key(client::consumer* outputs, std::string key,
                                               clock::time_point deadline) {
  for (;;) {
    auto m = co_await outputs->receive(deadline);
    if (!m) co_return http::http_response{.status = 408};
    outputs->acknowledge(*m);
    if (m->key == key) {
      co_return http::http_response{.content_type = "text/plain",
                                    .body = std::string(as_chars(m->payload))};
    }
  }
}

}  // namespace

runtime::unit* runtime::find_function(const std::string& name) const {
  for (const auto& u : units_) {
    if (u->def.flow.empty() && u->def.spec.name == name) return u.get();
  }
  return nullptr;
}

std::vector<function_instance_snapshot> runtime::snapshots(const unit& u) const {
  std::vector<function_instance_snapshot> out;
  if (u.parts.empty()) {  // stopped: one instance that does not run
    out.push_back({.instance_id = options_.instance_id});
    return out;
  }
  for (std::size_t k = 0; k < u.parts.size(); ++k) {
    out.push_back(read_part(u, k, [](const function::function_instance& fi) {
      return function_instance_snapshot{.instance_id = fi.instance_id(),
                                        .running = true,
                                        .restarts = static_cast<int>(fi.worker_restarts()),
                                        .metrics = fi.metrics()};
    }));
  }
  return out;
}

std::optional<http::http_response> runtime::functions_api(const http::http_request& r) {
  const auto& p = r.path;
  if (p.size() < 5 || p[0] != "admin" || p[1] != "v3" || p[2] != "functions") return std::nullopt;
  const bool ours = p[3] == functions_tenant && p[4] == functions_namespace;
  if (p.size() == 5) {
    if (r.method != "GET") return http::error_response(405, "only GET lists functions");
    nlohmann::json names = nlohmann::json::array();
    if (ours) {
      for (const auto& u : units_)
        if (u->def.flow.empty()) names.push_back(u->def.spec.name);
    }
    return http::http_response{.body = names.dump()};
  }
  const std::string& name = p[5];
  unit* u = ours ? find_function(name) : nullptr;
  if (u == nullptr) return http::error_response(404, "Function " + name + " doesn't exist");
  const std::string action = p.size() == 7 ? p[6] : (p.size() == 6 ? "" : "?");
  if (r.method == "GET" && action.empty()) {
    return http::http_response{.body = function_config_json(u->def.spec).dump()};
  }
  if (r.method == "GET" && action == "status") {
    return http::http_response{.body = function_status_json(snapshots(*u)).dump()};
  }
  if (r.method == "GET" && action == "stats") {
    return http::http_response{.body = function_stats_json(snapshots(*u), now_ms()).dump()};
  }
  if (auto asked = lifecycle_request(r.method, action, name)) return asked;
  // (Create, update, delete and trigger are slow_request's.)
  return http::error_response(405, r.method + " " + r.target + ": not a functions API request");
}

void runtime::remember_stopped(const std::string& name, bool stopped) {
  if (options_.store == nullptr || options_.store->stopped(name) == stopped) return;
  if (auto kept = options_.store->set_stopped(name, stopped); !kept) {
    spdlog::error("{}: cannot note in {} that it is {}: {}; after a restart it will not be", name,
                  options_.store->dir().string(), stopped ? "stopped" : "started",
                  kept.error().message());
  }
}

std::optional<awaitable<http::http_response>> runtime::slow_request(const http::http_request& r) {
  const auto& p = r.path;
  const bool ours = p.size() >= 6 && p[0] == "admin" && p[1] == "v3" &&
                    (p[2] == "functions" || p[2] == "flows" || sources_path(p[2])) &&
                    p[3] == functions_tenant && p[4] == functions_namespace;
  const bool trigger_path = ours && (p[2] == "functions" || p[2] == "flows") && p.size() == 7 &&
                            p[6] == "trigger" && r.method == "POST";
  const bool change_path =
      ours && p.size() == 6 && (r.method == "POST" || r.method == "PUT" || r.method == "DELETE");
  if (!trigger_path && !change_path) return std::nullopt;
  if (!authorized(r)) return std::nullopt;  // handle() refuses it
  auto form = r.method == "DELETE" ? decltype(http::form_fields(r)){} : http::form_fields(r);
  if (!form) {
    return [](http::http_response refused) -> awaitable<http::http_response> {
      co_return refused;
    }(std::move(form.error()));
  }
  // Each argument of a coroutine named first: GCC 12 destroys a temporary one twice.
  if (change_path && p[2] != "functions") {
    const bool flow = p[2] == "flows";
    std::string what = flow ? "Flow" : "Source";
    version_maker make = document_version(std::move(*form), flow ? "flow" : "source");
    version_check check = document_check(p[5], flow);
    return change_kept(std::move(what), r.method, p[5], std::move(make), std::move(check));
  }
  if (change_path) {
    std::string what = "Function";
    version_maker make = [this, method = r.method, name = p[5], form = *form] {
      return function_version(method, name, form);
    };
    version_check check = [name = p[5]](const config::spec_file& f) -> std::optional<std::string> {
      if (f.functions.size() == 1 && f.functions.front().name == name) return std::nullopt;
      return "not one Function " + name;
    };
    return change_kept(std::move(what), r.method, p[5], std::move(make), std::move(check));
  }
  if (p[2] == "flows") return trigger_flow(p[5], std::move(*form));
  return trigger(p[5], std::move(*form));
}

namespace {

// The name the executable uploaded with a FunctionConfig is kept under: its `go`'s last part.
tl::expected<std::string, std::string> uploaded_name(const nlohmann::json& config) {
  const auto go = config.is_object() ? config.find("go") : config.end();
  if (!config.is_object() || go == config.end() || !go->is_string()) return std::string();
  std::string file = go->get<std::string>();
  file = file.substr(file.rfind('/') + 1);
  if (file.empty() || file.starts_with('.') || file == "spec.yaml")
    return tl::unexpected("functionConfig: go " + go->dump() + ": not a file name shfn can keep");
  return file;
}

}  // namespace

tl::expected<runtime::kept_version, http::http_response> runtime::function_version(
    const std::string& method, const std::string& name,
    const std::map<std::string, std::string>& form) const {
  const auto refuse = [](int status, const std::string& why) {
    return tl::unexpected(http::error_response(status, why));
  };
  const auto field = form.find("functionConfig");
  if (field == form.end())
    return refuse(400, "no functionConfig (the form's field with a FunctionConfig in JSON)");
  const auto config = nlohmann::json::parse(field->second, nullptr, false);
  if (config.is_discarded()) return refuse(400, "functionConfig: not JSON");
  auto uploaded = uploaded_name(config);
  if (!uploaded) return refuse(400, uploaded.error());
  const auto data = form.find("data");
  if (!uploaded->empty() && data == form.end()) {
    return refuse(400,
                  "functionConfig: go names a file, but none came with it (the form's "
                  "data part)");
  }
  nlohmann::json spec = nlohmann::json::object();
  if (method == "PUT") {
    auto kept = options_.store->spec_fields(name);
    if (!kept) return refuse(500, "cannot read Function " + name + ": " + kept.error().message());
    spec = std::move(*kept);
  }
  auto document = function_document(config, name, std::move(spec), *uploaded);
  if (!document) return refuse(400, document.error());
  kept_version version{.files = {{.path = "spec.yaml", .content = document->dump(2) + "\n"}}};
  if (!uploaded->empty()) {
    version.files.push_back({.path = *uploaded, .content = data->second, .mode = 0755});
  }
  // Updated without a new executable, it keeps the one its script names.
  const auto& script = (*document)["spec"].value("script", std::string());
  if (script.starts_with("./")) version.carried.push_back(script.substr(2));
  return version;
}

namespace {

// A stage's longest wait for one message: its timeout (30 s when it has none).
std::chrono::milliseconds longest_wait(const config::function_spec& spec) {
  return spec.timeout.count() > 0 ? spec.timeout : std::chrono::milliseconds(30000);
}

}  // namespace

awaitable<http::http_response> runtime::trigger(std::string name,
                                                std::map<std::string, std::string> form) {
  const unit* u = find_function(name);
  if (u == nullptr) co_return http::error_response(404, "Function " + name + " doesn't exist");
  const config::function_spec spec = u->def.spec;  // a copy: a reload may replace the unit
  if (spec.output.empty()) {
    co_return http::error_response(
        400, "Function " + name + " has no output topic: a trigger would get nothing");
  }
  std::string input = spec.inputs.empty() ? "" : spec.inputs.front();
  if (auto given = form.find("topic"); given != form.end() && !given->second.empty()) {
    auto topic = wire::parse_topic_name(given->second);
    const bool ok = topic && std::ranges::count(spec.inputs, topic->str()) > 0;
    if (!ok)
      co_return http::error_response(400, given->second + " is not an input of Function " + name);
    input = topic->str();
  }
  if (input.empty())
    co_return http::error_response(400, "Function " + name + " has no inputs: give a topic");
  const trigger_route route{.what = "Function " + name,
                            .input = input,
                            .output = spec.output,
                            .wait = longest_wait(spec) + std::chrono::seconds(10)};
  co_return co_await trigger_through(route, std::move(form));
}

awaitable<http::http_response> runtime::trigger_flow(std::string name,
                                                     std::map<std::string, std::string> form) {
  // Its ingress: what its stages read and none of them writes; its reply: what one writes and
  // none reads. Each stage may take its whole timeout.
  std::set<std::string> read, written;
  trigger_route route{.what = "Flow " + name, .wait = std::chrono::seconds(10)};
  for (const unit* u : units_named(name)) {
    read.insert(u->def.spec.inputs.begin(), u->def.spec.inputs.end());
    if (!u->def.spec.output.empty()) written.insert(u->def.spec.output);
    route.wait += longest_wait(u->def.spec);
  }
  for (const unit* u : units_named(name)) {
    for (const auto& topic : u->def.spec.inputs)
      if (route.input.empty() && !written.contains(topic)) route.input = topic;
    const auto& out = u->def.spec.output;
    if (route.output.empty() && !out.empty() && !read.contains(out)) route.output = out;
  }
  if (route.input.empty()) co_return http::error_response(404, "Flow " + name + " doesn't exist");
  if (route.output.empty()) {
    co_return http::error_response(
        400, "Flow " + name +
                 " replies to no topic (no reply, or a uri or display): a trigger "
                 "would get nothing");
  }
  co_return co_await trigger_through(route, std::move(form));
}

awaitable<http::http_response> runtime::trigger_through(trigger_route route,
                                                        std::map<std::string, std::string> form) {
  auto data = form.find("data");
  if (data == form.end()) data = form.find("dataStream");
  if (data == form.end())
    co_return http::error_response(400, "no data to trigger with (the form's data field)");

  const std::string id = "shfn-trigger-" + event::uuid_v4();
  const client::consumer_options watch{
      .topic = route.output, .subscription = id, .position = client::initial_position::latest};
  auto outputs = co_await client_.subscribe(watch);
  if (!outputs) {
    co_return http::error_response(
        503, "cannot read " + route.output + ": " + outputs.error().message());
  }
  auto sent = co_await publish_once(&client_, route.input, id, data->second);
  http::http_response answer;
  if (!sent) {
    answer = http::error_response(
        503, "cannot publish to " + route.input + ": " + sent.error().message());
  } else {
    answer = co_await output_with_key(outputs->get(), id, clock::now() + route.wait);
    if (answer.status == 408) {
      answer = http::error_response(
          408, fmt::format("no output of {} within {} s: it failed (see its status), printed "
                           "nothing, or set another key",
                           route.what,
                           std::chrono::duration_cast<std::chrono::seconds>(route.wait).count()));
    }
  }
  if (auto removed = co_await (*outputs)->unsubscribe(); !removed) co_await (*outputs)->close();
  co_return answer;
}

}  // namespace shfn::flow
