// runtime's half that creates, updates and deletes what the API keeps (Functions, flows,
// sources): one change at a time with reloads, each kept in the function_store before it is
// applied, so that what a request was answered for outlives the process.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "config/spec.h"
#include "flow/runtime.h"

namespace shfn::flow {

using asio::awaitable;

namespace {

// Whether a document is a `what` ("Function", "Flow", "Source") of the API's paths.
bool of_kind(const config::flow_document& d, const std::string& what) {
  if (what == "Function") return d.kind == "Function";
  const bool flow = d.kind == "Parallel" || d.kind == "Sequence";
  return what == "Flow" ? flow : !flow && d.kind != "Function";
}

std::string lowercase_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// Every error of a spec file, in one line without its (staging) path: the fields say where.
std::string in_one_line(const std::vector<config::spec_error>& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += (out.empty() ? "" : "; ") + (e.field.empty() ? "" : e.field + ": ") + e.message;
  }
  return out;
}

}  // namespace

awaitable<http::http_response> runtime::change_kept(std::string what, std::string method,
                                                    std::string name, version_maker make,
                                                    version_check check) {
  co_await take_turn();
  http::http_response answer{.status = 204, .content_type = ""};
  auto next = stopping_ ? tl::unexpected(http::error_response(503, "shfn run is stopping"))
                        : kept_change(what, method, name, make, check);
  if (!next) {
    answer = std::move(next.error());
  } else {
    spdlog::info("{} {}: {} (API)", lowercase_first(what), name,
                 method == "POST" ? "created" : (method == "PUT" ? "updated" : "deleted"));
    if (auto applied = co_await apply_in_turn(std::move(*next)); !applied) {
      answer = http::error_response(
          500, fmt::format("{} {} is kept, but does not run: {} (see shfn run's log)", what, name,
                           applied.error().message()));
    }
  }
  end_turn();
  co_return answer;
}

tl::expected<plan, http::http_response> runtime::kept_change(const std::string& what,
                                                             const std::string& method,
                                                             const std::string& name,
                                                             const version_maker& make,
                                                             const version_check& check) {
  const auto refuse = [](int status, const std::string& why) {
    return tl::unexpected(http::error_response(status, why));
  };
  const auto* defined = document_named(name);
  if (method == "POST") {
    const bool kept = options_.store != nullptr && options_.store->has(name);
    if (defined != nullptr || kept) return refuse(400, what + " " + name + " already exists");
  } else if (defined == nullptr || !of_kind(*defined, what)) {
    return refuse(404, what + " " + name + " doesn't exist");
  } else if (options_.store == nullptr || defined->where.file != options_.store->spec_path(name)) {
    return refuse(400, fmt::format("{} {} is defined in {}:{}: change it there and reload (SIGHUP)",
                                   what, name, defined->where.file, defined->where.line));
  }
  if (options_.store == nullptr) {
    return refuse(501, "a " + what +
                           " made through the API is kept in a directory, and shfn run --url has "
                           "none: give it --functions-dir, or change the spec files and reload "
                           "(SIGHUP)");
  }
  const std::string path = options_.store->spec_path(name);
  if (method == "DELETE") {
    if (auto removed = options_.store->remove(name); !removed)
      return refuse(500, "cannot remove " + name + ": " + removed.error().message());
    return with_kept(path, nullptr);
  }
  auto version = make();
  if (!version) return tl::unexpected(std::move(version.error()));
  auto file = keep_version(name, *version, check);
  if (!file) return tl::unexpected(std::move(file.error()));
  return with_kept(path, &*file);
}

tl::expected<config::spec_file, http::http_response> runtime::keep_version(
    const std::string& name, const kept_version& version, const version_check& check) {
  const auto refuse = [](int status, const std::string& why) {
    return tl::unexpected(http::error_response(status, why));
  };
  auto& store = *options_.store;
  auto staged = store.stage(name, version.files, version.carried);
  if (!staged) return refuse(500, "cannot keep " + name + ": " + staged.error().message());
  // Checked as a spec file is, where it is staged: what would not load is refused.
  auto checked = config::load_file(staged->string());
  std::string why;
  if (!checked) {
    why = in_one_line(checked.error());
  } else if (auto wrong = check(*checked)) {
    why = *wrong;
  } else {
    const plan loaded = make_plan(*checked);
    for (const auto& d : loaded.documents) {
      if (const auto* other = document_named(d.name, store.spec_path(name))) {
        why = fmt::format("{} {} is taken: {} {} is defined in {}:{}", d.kind, d.name, other->kind,
                          d.name, other->where.file, other->where.line);
        break;
      }
    }
  }
  if (!why.empty()) {
    store.discard(name);
    return refuse(400, why);
  }
  if (auto committed = store.commit(name); !committed)
    return refuse(500, "cannot keep " + name + ": " + committed.error().message());
  auto kept = config::load_file(store.spec_path(name));
  if (!kept)
    return refuse(500, name + " is kept, but does not load again: " + in_one_line(kept.error()));
  return std::move(*kept);
}

const config::flow_document* runtime::document_named(const std::string& name,
                                                     const std::string& except) const {
  for (const auto& d : plan_.documents) {
    if (d.name == name && d.where.file != except) return &d;
  }
  return nullptr;
}

plan runtime::with_kept(const std::string& path, const config::spec_file* file) const {
  plan next = plan_;
  std::erase_if(next.stages, [&path](const stage& s) { return s.spec.where.file == path; });
  std::erase_if(next.sources, [&path](const source_spec& s) { return where_of(s).file == path; });
  std::erase_if(next.documents, [&path](const auto& d) { return d.where.file == path; });
  if (file != nullptr) {
    plan more = make_plan(*file);
    std::ranges::move(more.stages, std::back_inserter(next.stages));
    std::ranges::move(more.sources, std::back_inserter(next.sources));
    std::ranges::move(more.documents, std::back_inserter(next.documents));
  }
  return next;
}

}  // namespace shfn::flow
