// runtime's half that serves the flows and sources APIs, the functions API's siblings under
// their own paths (/admin/v3/flows/public/default/..., /admin/v3/sources/public/default/...):
// list, get, status and stats, stop, start and restart (of any of the three kinds: names are
// unique across them), and the spec files a create or update sends for a flow or a source.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/spawn.h"
#include "config/spec.h"
#include "flow/runtime.h"

namespace shfn::flow {

using asio::awaitable;
using nlohmann::json;

namespace {

bool is_flow(const config::flow_document& d) {
  return d.kind == "Parallel" || d.kind == "Sequence";
}

std::string place(const config::location& where) {
  return fmt::format("{}:{}", where.file, where.line);
}

json stage_json(const stage& s) {
  json out = {{"name", s.spec.name}, {"inputs", s.spec.inputs}};
  if (!s.spec.output.empty()) out["output"] = s.spec.output;
  if (!s.spec.dead_letter_topic.empty()) out["deadLetterTopic"] = s.spec.dead_letter_topic;
  if (s.step_definition.empty()) {
    out["command"] = s.spec.argv;
  } else {
    out["step"] = s.step_definition;
  }
  return out;
}

// Pulsar's SourceStatus, for the one instance a source is (a cron source's ticks are what it
// received and wrote; a command source's lines and events), with a cron source's last and next
// tick.
json source_status_json(const source_counts& counts, const json& status, bool running) {
  return {{"numInstances", 1},
          {"numRunning", running ? 1 : 0},
          {"instances",
           {{{"instanceId", 0},
             {"status",
              {{"running", running},
               {"error", counts.last_error},
               {"numRestarts", counts.restarts},
               {"numReceivedFromSource", counts.received},
               {"numWritten", counts.written},
               {"lastTick", status.value("last_tick", json())},
               {"nextTick", running ? status.value("next_tick", json()) : json()},
               {"workerId", "shfn"}}}}}}};
}

// GET of a source: its definition, as a cron source's or a command source's fields say it.
json source_json(const source_spec& def) {
  json out = {{"tenant", functions_tenant}, {"namespace", functions_namespace},
              {"name", name_of(def)},       {"kind", kind_of(def)},
              {"sink", sink_of(def).topic}, {"definedIn", place(where_of(def))}};
  if (const auto* cron = std::get_if<config::cron_source_spec>(&def)) {
    out["schedule"] = cron->schedule;
    out["timezone"] = cron->timezone.empty() ? "UTC" : cron->timezone;
    out["type"] = cron->type;
    out["source"] = cron->source;
    if (!cron->data.empty()) out["data"] = cron->data;
    if (!cron->content_type.empty()) out["contentType"] = cron->content_type;
  } else {
    const auto& command = std::get<config::command_source_spec>(def);
    out["command"] = command.argv;
    out["workingDir"] = command.working_dir;
    out["source"] = command.source;
  }
  return out;
}

// A flow's or a source's new version: the spec file's YAML (the form's `spec`) and the files it
// names, each in a field `file:PATH` (PATH relative to the spec file, below it).
tl::expected<std::vector<function_store::file>, http::http_response> uploaded_files(
    const std::map<std::string, std::string>& form, std::string_view what) {
  const auto spec = form.find("spec");
  if (spec == form.end()) {
    return tl::unexpected(http::error_response(
        400, fmt::format("no spec: a {} is created from its spec file's YAML, in the form's spec "
                         "field (as shfn {}s create -f FILE sends it)",
                         what, what)));
  }
  std::vector<function_store::file> files{{.path = "spec.yaml", .content = spec->second}};
  for (const auto& [field, content] : form) {
    if (!field.starts_with("file:")) continue;
    const std::filesystem::path path = field.substr(5);
    if (!function_store::keepable(path) || path == "spec.yaml") {
      return tl::unexpected(http::error_response(
          400, field + ": files are kept below the spec file, under a relative path"));
    }
    files.push_back({.path = path.string(), .content = content, .mode = 0755});
  }
  return files;
}

}  // namespace

std::vector<runtime::unit*> runtime::units_named(const std::string& name) const {
  std::vector<unit*> out;
  for (const auto& u : units_) {
    const bool named = u->def.flow.empty() ? u->def.spec.name == name : u->def.flow == name;
    if (named) out.push_back(u.get());
  }
  return out;
}

runtime::source_unit* runtime::source_named(const std::string& name) const {
  for (const auto& s : sources_)
    if (name_of(s->def) == name) return s.get();
  return nullptr;
}

awaitable<void> runtime::stop_named(std::string name, bool start_again) {
  co_await take_turn();
  const auto units = stopping_ ? std::vector<unit*>{} : units_named(name);
  source_unit* source = stopping_ ? nullptr : source_named(name);
  if (!units.empty() || source != nullptr) {
    remember_stopped(name, true);
    spdlog::info("{}: stopping it (API): draining", name);
  }
  const auto deadline = clock::now() + options_.drain_timeout;
  for (unit* u : units) stop_unit(u, deadline);
  for (unit* u : units) co_await drop_parts(u);
  if (source != nullptr && !source->stopped) {
    source->source->stop();
    co_await source->running.close();
    // A source runs once: a fresh one waits for start.
    auto fresh = make_source(source->def);
    fresh->stopped = true;
    *std::ranges::find_if(sources_, [source](const auto& s) { return s.get() == source; }) =
        std::move(fresh);
  }
  if (!units.empty() || source != nullptr) spdlog::info("{}: stopped", name);
  end_turn();
  if (start_again) co_await start_named(std::move(name));
}

awaitable<void> runtime::start_named(std::string name) {
  co_await take_turn();
  const auto units = stopping_ ? std::vector<unit*>{} : units_named(name);
  source_unit* source = stopping_ ? nullptr : source_named(name);
  if (!units.empty() || source != nullptr) remember_stopped(name, false);
  const auto ex = co_await asio::this_coro::executor;
  bool started_all = true;
  for (unit* u : units) {
    if (!u->parts.empty()) continue;
    make_parts(u);
    auto started = co_await start_unit(u);
    if (started) {
      launch(u, ex);
    } else {
      spdlog::error("{}: cannot start: {}", u->def.spec.name, started.error().message());
      co_await drop_parts(u);  // start_unit closed what it had started
      started_all = false;
    }
  }
  if (source != nullptr && source->stopped) {
    auto started = co_await source->source->start();
    if (started) {
      source->stopped = false;
      spawn_held(ex, source->running, source->source->run());
    } else {
      spdlog::error("source {}: cannot start: {}", name, started.error().message());
      started_all = false;
    }
  }
  if ((!units.empty() || source != nullptr) && started_all) spdlog::info("{}: started (API)", name);
  end_turn();
}

std::optional<http::http_response> runtime::lifecycle_request(const std::string& method,
                                                              const std::string& action,
                                                              const std::string& name) {
  const bool stop = action == "stop" || action == "restart";
  if (method != "POST" || (!stop && action != "start")) return std::nullopt;
  const auto ex = shards_->executor(0);
  if (stop) {
    asio::co_spawn(ex, stop_named(name, action == "restart"), asio::detached);
  } else {
    asio::co_spawn(ex, start_named(name), asio::detached);
  }
  return http::http_response{.status = 204, .content_type = ""};
}

std::optional<http::http_response> runtime::flows_api(const http::http_request& r) {
  const auto& p = r.path;
  if (p.size() < 5 || p[0] != "admin" || p[1] != "v3" || (p[2] != "flows" && !sources_path(p[2])))
    return std::nullopt;
  const bool flows = p[2] == "flows";
  const std::string what = flows ? "Flow" : "Source";
  const bool ours = p[3] == functions_tenant && p[4] == functions_namespace;
  if (p.size() == 5) {
    if (r.method != "GET") return http::error_response(405, "only GET lists them");
    json names = json::array();
    if (ours && flows) {
      for (const auto& d : plan_.documents)
        if (is_flow(d)) names.push_back(d.name);
    } else if (ours) {
      for (const auto& s : sources_) names.push_back(name_of(s->def));
    }
    return http::http_response{.body = names.dump()};
  }
  const std::string& name = p[5];
  const auto* doc = ours ? document_named(name) : nullptr;
  const source_unit* source = ours && !flows ? source_named(name) : nullptr;
  if ((flows && (doc == nullptr || !is_flow(*doc))) || (!flows && source == nullptr))
    return http::error_response(404, what + " " + name + " doesn't exist");
  const std::string action = p.size() == 7 ? p[6] : (p.size() == 6 ? "" : "?");
  if (auto asked = lifecycle_request(r.method, action, name)) return asked;
  if (r.method != "GET") {
    return http::error_response(405, r.method + " " + r.target + ": not an API request");
  }
  if (!flows) {
    if (action.empty()) return http::http_response{.body = source_json(source->def).dump()};
    if (action == "status") {
      const json out =
          source_status_json(source->source->counts(), source->source->status(), !source->stopped);
      return http::http_response{.body = out.dump()};
    }
    return http::error_response(404, "no " + action + " for a source");
  }
  const auto units = units_named(name);
  if (action.empty()) {
    json stages = json::array();
    for (const unit* u : units) stages.push_back(stage_json(u->def));
    const json out = {{"tenant", functions_tenant},
                      {"namespace", functions_namespace},
                      {"name", name},
                      {"kind", doc->kind},
                      {"definedIn", place(doc->where)},
                      {"stages", std::move(stages)}};
    return http::http_response{.body = out.dump()};
  }
  if (action != "status" && action != "stats")
    return http::error_response(404, "no " + action + " for a flow");
  json stages = json::array();
  int running = 0;
  for (const unit* u : units) {
    const auto parts = snapshots(*u);
    running += u->parts.empty() ? 0 : 1;
    stages.push_back({{"name", u->def.spec.name},
                      {action, action == "status" ? function_status_json(parts)
                                                  : function_stats_json(parts, now_ms())}});
  }
  const json out = {{"numStages", units.size()}, {"numRunning", running}, {"stages", stages}};
  return http::http_response{.body = out.dump()};
}

runtime::version_maker runtime::document_version(std::map<std::string, std::string> form,
                                                 std::string what) {
  return [form = std::move(form),
          what = std::move(what)]() -> tl::expected<kept_version, http::http_response> {
    auto files = uploaded_files(form, what);
    if (!files) return tl::unexpected(std::move(files.error()));
    return kept_version{.files = std::move(*files)};
  };
}

runtime::version_check runtime::document_check(std::string name, bool flow) {
  return [name = std::move(name), flow](const config::spec_file& f) -> std::optional<std::string> {
    const auto documents = config::flow_documents(f);
    const auto others = std::ranges::count_if(documents, [&](const config::flow_document& d) {
      return d.name != name || is_flow(d) != flow;
    });
    const bool named = std::ranges::any_of(documents, [&](const config::flow_document& d) {
      return d.name == name && is_flow(d) == flow;
    });
    if (named && others == 0) return std::nullopt;
    return fmt::format(
        "the spec file must hold the {} {} and no other flow or source (its "
        "Functions may come with it)",
        flow ? "Parallel or Sequence" : "source", name);
  };
}

}  // namespace shfn::flow
