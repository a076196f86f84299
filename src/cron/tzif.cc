#include "cron/tzif.h"

#include <algorithm>

namespace shfn::cron::detail {

namespace chr = std::chrono;

namespace {

constexpr std::size_t header_size = 44;
// Far more than any real zone has (a few hundred transitions, a dozen types).
constexpr std::uint32_t max_count = 1u << 20;

struct header {
  char version = 0;
  std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

class reader {
 public:
  explicit reader(std::string_view bytes) : b_(bytes) {}

  bool has(std::size_t n) const { return b_.size() - p_ >= n; }
  std::size_t pos() const { return p_; }
  void skip(std::size_t n) { p_ += n; }
  std::string_view take(std::size_t n) {
    auto s = b_.substr(p_, n);
    p_ += n;
    return s;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(b_[p_++]); }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | u8();
    return v;
  }
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
    return static_cast<std::int64_t>(v);
  }
  std::string_view rest() const { return b_.substr(p_); }

 private:
  std::string_view b_;
  std::size_t p_ = 0;
};

tl::expected<header, std::string> read_header(reader& r) {
  if (r.has(4) && !has_tzif_magic(r.rest())) return tl::unexpected(std::string("not a TZif file"));
  if (!r.has(header_size)) return tl::unexpected(std::string("truncated TZif header"));
  r.skip(4);
  header h;
  h.version = static_cast<char>(r.u8());
  r.skip(15);
  h.isutcnt = r.u32();
  h.isstdcnt = r.u32();
  h.leapcnt = r.u32();
  h.timecnt = r.u32();
  h.typecnt = r.u32();
  h.charcnt = r.u32();
  for (auto c : {h.isutcnt, h.isstdcnt, h.leapcnt, h.timecnt, h.typecnt, h.charcnt}) {
    if (c > max_count) return tl::unexpected(std::string("implausible TZif counts"));
  }
  if (h.typecnt == 0) return tl::unexpected(std::string("TZif data has no local time types"));
  if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt))
    return tl::unexpected(std::string("inconsistent TZif counts"));
  return h;
}

std::size_t block_size(const header& h, std::size_t time_size) {
  return std::size_t(h.timecnt) * (time_size + 1) + std::size_t(h.typecnt) * 6 + h.charcnt +
         std::size_t(h.leapcnt) * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

tl::expected<zone_data, std::string> read_block(reader& r, const header& h, std::size_t time_size) {
  if (!r.has(block_size(h, time_size))) return tl::unexpected(std::string("truncated TZif data"));
  if (h.leapcnt != 0) {
    return tl::unexpected(
        std::string("leap-second time zones (\"right/\") are not supported; use the plain name"));
  }
  zone_data z;
  z.transitions.reserve(h.timecnt);
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    std::int64_t t = time_size == 8 ? r.i64() : std::int64_t(std::int32_t(r.u32()));
    if (!z.transitions.empty() && t <= z.transitions.back().time_since_epoch().count())
      return tl::unexpected(std::string("TZif transition times are not ascending"));
    z.transitions.push_back(chr::sys_seconds{chr::seconds{t}});
  }
  z.transition_types.reserve(h.timecnt);
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    std::uint8_t type = r.u8();
    if (type >= h.typecnt) return tl::unexpected(std::string("TZif transition type out of range"));
    z.transition_types.push_back(type);
  }
  struct raw_type {
    std::int32_t offset;
    bool dst;
    std::uint8_t abbrev_index;
  };
  std::vector<raw_type> raw;
  for (std::uint32_t i = 0; i < h.typecnt; ++i) {
    auto offset = static_cast<std::int32_t>(r.u32());
    bool dst = r.u8() != 0;
    std::uint8_t index = r.u8();
    // RFC 8536: offsets should lie within (-25 h, 26 h). next_tick relies on a bound.
    if (offset <= -25 * 3600 || offset >= 26 * 3600)
      return tl::unexpected(std::string("TZif UTC offset out of range"));
    if (index >= h.charcnt)
      return tl::unexpected(std::string("TZif abbreviation index out of range"));
    raw.push_back({offset, dst, index});
  }
  std::string_view chars = r.take(h.charcnt);
  for (const auto& t : raw) {
    std::string_view abbrev = chars.substr(t.abbrev_index);
    abbrev = abbrev.substr(0, abbrev.find('\0'));
    z.types.push_back(
        {.offset = chr::seconds{t.offset}, .dst = t.dst, .abbrev = std::string(abbrev)});
  }
  // Leap-second records are refused above; the standard/wall and UT/local indicators only
  // matter to a POSIX-rule fallback that TZif footers make unnecessary.
  r.skip(std::size_t(h.isstdcnt) + h.isutcnt);
  return z;
}

}  // namespace

tl::expected<zone_data, std::string> parse_tzif(std::string_view bytes) {
  reader r(bytes);
  auto first = read_header(r);
  if (!first) return tl::unexpected(first.error());
  if (first->version == 0) {
    auto z = read_block(r, *first, 4);
    if (!z) return z;
    for (const auto& t : z->types)
      z->max_abs_offset = std::max(z->max_abs_offset, chr::abs(t.offset));
    return z;
  }
  // Version 2 and later: skip the 32-bit block; the 64-bit one says everything it says.
  if (!r.has(block_size(*first, 4))) return tl::unexpected(std::string("truncated TZif data"));
  r.skip(block_size(*first, 4));
  auto second = read_header(r);
  if (!second) return tl::unexpected(second.error());
  auto z = read_block(r, *second, 8);
  if (!z) return z;
  // Footer: "\n" TZ-string "\n". An empty string means no rule beyond the table.
  std::string_view rest = r.rest();
  if (rest.empty() || rest[0] != '\n') return tl::unexpected(std::string("missing TZif footer"));
  std::size_t end = rest.find('\n', 1);
  if (end == std::string_view::npos) return tl::unexpected(std::string("truncated TZif footer"));
  std::string_view tz = rest.substr(1, end - 1);
  if (!tz.empty()) {
    auto rule = parse_posix_tz(tz);
    if (!rule)
      return tl::unexpected("invalid TZ string in the TZif footer: \"" + std::string(tz) + "\"");
    z->footer = std::move(*rule);
  }
  for (const auto& t : z->types)
    z->max_abs_offset = std::max(z->max_abs_offset, chr::abs(t.offset));
  if (z->footer) {
    z->max_abs_offset = std::max(z->max_abs_offset, chr::abs(z->footer->standard.offset));
    if (z->footer->daylight)
      z->max_abs_offset = std::max(z->max_abs_offset, chr::abs(z->footer->daylight->offset));
  }
  return z;
}

}  // namespace shfn::cron::detail
