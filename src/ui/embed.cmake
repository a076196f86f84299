# cmake -DIN=page.html -DOUT=page.cc -P embed.cmake: the page as shfn::ui::live_page() (ui.h).
file(READ ${IN} page)
string(FIND "${page}" ")shfn_page\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} holds the raw string's closing delimiter )shfn_page\"")
endif()
file(WRITE ${OUT} "// Generated from ${IN} by embed.cmake: edit that file.\n"
  "#include \"ui/ui.h\"\n\nnamespace shfn::ui {\n\n"
  "std::string_view live_page() {\n  static constexpr std::string_view page = R\"shfn_page(${page})shfn_page\";\n"
  "  return page;\n}\n\n}  // namespace shfn::ui\n")
