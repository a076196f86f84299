// The cron source, first pass: shfn's CronSource and Knative's PingSource and CronJobSource
// (sources.knative.dev) shapes, read one document at a time: the schedule and its zone, the data
// and its content type, the events' attributes and the sink.

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "base/base64.h"
#include "config/flow.h"
#include "config/flow_shapes.h"
#include "config/kinds.h"
#include "cron/schedule.h"
#include "cron/zone.h"

namespace shfn::config {
namespace {

using json = nlohmann::json;

// Knative decodes dataBase64 with Go's base64.StdEncoding: padding required, bits of the last
// character that make no byte ignored. Spaces and line breaks (from YAML folding) are skipped.
std::optional<std::string> decode_base64(const field& f, std::string_view text) {
  auto decoded = base64_decode(
      text, {.require_padding = true, .skip_whitespace = true, .ignore_leftover_bits = true});
  if (decoded) return std::string(decoded->begin(), decoded->end());
  const base64_error& e = decoded.error();
  if (e.what == base64_error::kind::length) {
    f.error(
        fmt::format("invalid base64: {} characters, not a multiple of 4 (is = padding missing?)",
                    e.characters));
  } else {
    f.diags().error(f.where_at(e.offset), f.path(),
                    fmt::format("invalid base64: unexpected {} at offset {} (expected A-Z, a-z, "
                                "0-9, + and /, with = padding at the end)",
                                quote(text.substr(e.offset, 1)), e.offset));
  }
  return std::nullopt;
}

// A media type: TYPE/SUBTYPE with optional parameters (RFC 6838 token characters).
bool valid_media_type(std::string_view s) {
  static const std::regex re(R"([!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?)");
  return std::regex_match(s.begin(), s.end(), re);
}

void read_schedule(const mapping& spec, cron_source_spec& c) {
  auto schedule = spec.require("schedule");
  std::optional<std::string> prefix_zone;
  std::size_t prefix_zone_offset = 0;
  if (schedule) {
    auto text = schedule->as_string();
    if (!text) return;
    auto parsed = cron::parse_schedule(*text);
    if (!parsed) {
      schedule->diags().error(schedule->where_at(parsed.error().column), schedule->path(),
                              parsed.error().message);
    } else {
      c.schedule = *text;
      if (!parsed->zone_name.empty()) {
        prefix_zone = parsed->zone_name;
        prefix_zone_offset = text->find('=') + 1;
      }
    }
  }
  auto timezone = spec.get("timezone");
  if (timezone) {
    auto name = timezone->as_string();
    if (!name) return;
    if (prefix_zone) {
      timezone->error(fmt::format(
          "the schedule already names a zone (CRON_TZ={}): give the zone in one place only",
          *prefix_zone));
      return;
    }
    auto zone = cron::zone::load(*name);
    if (!zone) {
      timezone->error(zone.error().message);
      return;
    }
    c.timezone = *name;
  } else if (prefix_zone) {
    auto zone = cron::zone::load(*prefix_zone);
    if (!zone) {
      schedule->diags().error(schedule->where_at(prefix_zone_offset), schedule->path(),
                              zone.error().message);
      return;
    }
    c.timezone = *prefix_zone;
  }
}

void read_data(const mapping& spec, cron_source_spec& c) {
  std::vector<std::pair<std::string_view, field>> given;
  for (std::string_view key : {"data", "dataBase64", "jsonData"})
    if (auto v = spec.get(key)) given.emplace_back(key, *v);
  if (given.size() > 1) {
    given[1].second.error(fmt::format("give {} or {}, not both", given[0].first, given[1].first));
    return;
  }
  std::string default_type;
  if (!given.empty()) {
    const auto& [key, value] = given[0];
    auto text = value.as_string();
    if (!text) return;
    if (key == "dataBase64") {
      auto bytes = decode_base64(value, *text);
      if (!bytes) return;
      c.data = std::move(*bytes);
      default_type = "application/octet-stream";
    } else {
      // jsonData is the older PingSource's (v1alpha2, v1beta1) name for JSON data.
      if (key == "jsonData" && !json::accept(*text)) {
        value.error("not valid JSON");
        return;
      }
      c.data = *text;
      default_type = json::accept(c.data) ? "application/json" : "text/plain";
    }
  }
  if (auto v = spec.get("contentType")) {
    auto text = v->as_string();
    if (!text) return;
    if (!valid_media_type(*text)) {
      v->error(fmt::format("invalid media type {}: expected TYPE/SUBTYPE, e.g. application/json",
                           quote(*text)));
      return;
    }
    c.content_type = *text;
  } else if (!c.data.empty()) {
    c.content_type = default_type;
  }
}

void read_string(const mapping& spec, std::string_view key, std::string& out) {
  auto v = spec.get(key);
  if (!v) return;
  auto text = v->as_string();
  if (!text) return;
  if (text->empty()) {
    v->error("must not be empty");
    return;
  }
  out = *text;
}

}  // namespace

void parse_cron_source(const document& doc, first_pass& pass) {
  cron_source_spec& c = pass.out.cron_sources.emplace_back();
  c.name = doc.name;
  c.kind = std::string(doc.kind);
  c.where = doc.where;
  // Knative's defaults (PingSourceEventType, PingSourceSource; the v1alpha1 CronJobSource's).
  const bool cronjob = doc.kind == "CronJobSource";
  c.type = cronjob ? "dev.knative.cronjob.event" : "dev.knative.sources.ping";
  c.source = fmt::format("/apis/v1/namespaces/default/{}/{}",
                         cronjob ? "cronjobsources" : "pingsources", doc.name);
  auto spec = doc.spec.as_mapping({"schedule", "timezone", "data", "dataBase64", "jsonData",
                                   "contentType", "type", "source", "ceOverrides", "sink"});
  if (!spec) return;
  read_schedule(*spec, c);
  read_data(*spec, c);
  read_string(*spec, "type", c.type);
  read_string(*spec, "source", c.source);
  if (auto v = spec->get("ceOverrides")) read_ce_overrides(*v, c.extensions, true);
  if (auto v = spec->require("sink")) c.sink = read_sink(*v);
}

}  // namespace shfn::config
