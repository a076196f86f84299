#pragma once
// The live view (docs/ui.md): one page, served at /ui by `shfn run` and `shfn broker` from the
// binary itself. It reads the admin port's JSON APIs (/status, /graph, the broker's /admin/v2),
// so everything it shows the CLI can show too.

#include <string_view>

namespace shfn::ui {

// live.html, whole.
std::string_view live_page();

}  // namespace shfn::ui
