#include "cron/zone.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <vector>

#include "cron/tzif.h"

namespace shfn::cron {

namespace chr = std::chrono;
namespace fs = std::filesystem;
using detail::zone_data;

namespace {

// TZif files are a few kilobytes; anything this large is not one.
constexpr std::uintmax_t max_file_size = 1 << 20;

std::shared_ptr<const zone_data> make_utc(std::string name) {
  auto z = std::make_shared<zone_data>();
  z->name = std::move(name);
  z->types.push_back({.offset = chr::seconds{0}, .dst = false, .abbrev = "UTC"});
  return z;
}

const std::shared_ptr<const zone_data>& utc_data() {
  static const auto data = make_utc("UTC");
  return data;
}

zone_error zone_fail(zone_errc code, std::string message) {
  return {code, std::move(message)};
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// IANA names: components of letters, digits, '_', '-', '+' and '.', separated by single '/';
// no "." or ".." component, so a name cannot leave the zoneinfo directory.
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = name.find('/', start);
    std::string_view part =
        name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '+' &&
          c != '.')
        return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

char lower(char c) {
  return char(std::tolower(static_cast<unsigned char>(c)));
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (lower(a[i - 1]) != lower(b[j - 1]))});
      diag = up;
    }
  }
  return row[b.size()];
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return lower(x) == lower(y); });
}

// The zone names under root, leaving out the non-zone files tzdata ships (zone.tab,
// posixrules, ...) and the posix/ and right/ copies.
std::vector<std::string> zone_names(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string rel = it->path().lexically_relative(root).string();
    if (it->is_directory(ec)) {
      if (rel == "posix" || rel == "right") it.disable_recursion_pending();
      continue;
    }
    if (rel.empty() || !std::isupper(static_cast<unsigned char>(rel[0])) ||
        rel.find('.') != std::string::npos)
      continue;
    names.push_back(std::move(rel));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// " (did you mean "Europe/Paris"?)" when one name is close: a different case, a typo or two, or
// the same city under its area ("Paris" -> "Europe/Paris").
std::string suggestion(std::string_view name, const fs::path& root) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 5) + 1;
  for (const auto& candidate : zone_names(root)) {
    std::string_view city = candidate;
    if (auto slash = city.rfind('/'); slash != city.npos) city = city.substr(slash + 1);
    std::size_t d = iequals(city, name) ? 1 : edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best.empty() ? "" : " (did you mean " + in_quotes(best) + "?)";
}

bool inside(const fs::path& path, const fs::path& root) {
  auto rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

zone::zone() : data_(utc_data()) {}

const std::string& zone::name() const {
  return data_->name;
}

zone_result<zone> zone::from_tzif(std::string_view name, std::string_view bytes) {
  auto z = detail::parse_tzif(bytes);
  if (!z) {
    return tl::unexpected(
        zone_fail(zone_errc::bad_data, "time zone " + in_quotes(name) + ": " + z.error()));
  }
  z->name = std::string(name);
  return zone(std::make_shared<const zone_data>(std::move(*z)));
}

zone_result<zone> zone::load(std::string_view name, const zone_load_options& options) {
  // Always available, so a host without tzdata can still run UTC schedules.
  if (name == "UTC" || name == "Etc/UTC") return zone(make_utc(std::string(name)));
  if (!valid_name(name)) {
    return tl::unexpected(zone_fail(zone_errc::invalid_name,
                                    "invalid time zone name " + in_quotes(name) +
                                        " (expected an IANA name such as \"Europe/Paris\")"));
  }
  auto unknown = [&](std::string detail) {
    return tl::unexpected(zone_fail(zone_errc::unknown_zone,
                                    "unknown time zone " + in_quotes(name) + std::move(detail)));
  };
  std::error_code ec;
  fs::path root = fs::canonical(options.root, ec);
  if (ec) return unknown(" (no time zone data in " + options.root + ")");
  fs::path path = fs::canonical(root / std::string(name), ec);
  // Symbolic links inside the tree (UTC -> Etc/UTC) are fine; ones leading out (localtime ->
  // /etc/localtime) would make the zone depend on the host's configuration.
  if (ec || !inside(path, root) || !fs::is_regular_file(path, ec))
    return unknown(suggestion(name, root));
  auto size = fs::file_size(path, ec);
  if (!ec && size > max_file_size) return unknown(" (" + path.string() + " is not a TZif file)");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) {
    return tl::unexpected(zone_fail(
        zone_errc::unreadable, "time zone " + in_quotes(name) + ": cannot read " + path.string()));
  }
  if (!detail::has_tzif_magic(bytes)) return unknown(" (" + path.string() + " is not a TZif file)");
  auto z = detail::parse_tzif(bytes);
  if (!z) {
    return tl::unexpected(zone_fail(zone_errc::bad_data, "time zone " + in_quotes(name) + ": " +
                                                             path.string() + ": " + z.error()));
  }
  z->name = std::string(name);
  return zone(std::make_shared<const zone_data>(std::move(*z)));
}

zone_period zone::period_at(sys_seconds t) const {
  const zone_data& z = *data_;
  auto make = [](sys_seconds b, sys_seconds e, const detail::local_type& type) {
    return zone_period{b, e, type.offset, type.dst, type.abbrev};
  };
  if (z.transitions.empty()) {
    if (!z.footer) return make(sys_seconds::min(), sys_seconds::max(), z.types[0]);
    auto p = detail::posix_period(*z.footer, t);
    return make(p.begin, p.end, *p.type);
  }
  if (t < z.transitions.front()) return make(sys_seconds::min(), z.transitions.front(), z.types[0]);
  auto it = std::upper_bound(z.transitions.begin(), z.transitions.end(), t);
  std::size_t i = std::size_t(it - z.transitions.begin()) - 1;
  if (i + 1 < z.transitions.size())
    return make(z.transitions[i], z.transitions[i + 1], z.types[z.transition_types[i]]);
  const auto& last_type = z.types[z.transition_types[i]];
  if (!z.footer) return make(z.transitions[i], sys_seconds::max(), last_type);
  auto p = detail::posix_period(*z.footer, t);
  return make(std::max(p.begin, z.transitions[i]), p.end, *p.type);
}

local_info zone::to_local(sys_seconds t) const {
  auto p = period_at(t);
  local_seconds local{t.time_since_epoch() + p.offset};
  return {.local = local,
          .fields = to_civil(local),
          .offset = p.offset,
          .dst = p.dst,
          .abbrev = p.abbrev};
}

local_lookup zone::from_local(local_seconds t) const {
  // Any instant showing `t` lies within the largest offset of it; walk the periods there.
  const chr::seconds reach = data_->max_abs_offset + chr::seconds{1};
  const sys_seconds as_utc{t.time_since_epoch()};
  const sys_seconds hi = as_utc + reach;
  local_lookup out;
  bool have_first = false;
  for (auto p = period_at(as_utc - reach);; p = period_at(p.end)) {
    sys_seconds candidate{t.time_since_epoch() - p.offset};
    if (candidate >= p.begin && candidate < p.end) {
      if (out.count < 2) out.instants[std::size_t(out.count++)] = candidate;
    } else if (candidate < p.begin) {
      candidate = p.begin;  // the whole period shows later times: t was skipped
    } else {
      candidate = sys_seconds::max();
    }
    if (!have_first && candidate != sys_seconds::max()) {
      out.first_at_or_after = candidate;
      have_first = true;
    }
    if (p.end == sys_seconds::max() || p.end > hi) break;
  }
  return out;
}

}  // namespace shfn::cron
