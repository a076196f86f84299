#include "http/form.h"

#include "base/strings.h"

namespace shfn::http {

namespace {

// A header parameter's value: boundary=XYZ or boundary="XYZ"; name="data"; "" when absent.
std::string parameter(std::string_view header, std::string_view name) {
  std::size_t at = 0;
  while ((at = header.find(';', at)) != std::string_view::npos) {
    std::string_view rest = trim(header.substr(++at));
    if (!istarts_with(rest, name) || rest.size() <= name.size() || rest[name.size()] != '=') {
      continue;
    }
    rest.remove_prefix(name.size() + 1);
    if (rest.starts_with('"')) {
      const auto close = rest.find('"', 1);
      return std::string(rest.substr(1, close == std::string_view::npos ? rest.npos : close - 1));
    }
    return std::string(trim(rest.substr(0, rest.find(';'))));
  }
  return {};
}

// One part: its head (Content-Disposition and the rest) and its content.
bool read_part(std::string_view part, std::map<std::string, std::string>& out) {
  const auto head_end = part.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  std::string name;
  for (auto line : split(part.substr(0, head_end), '\n')) {
    line = trim(line, " \t\r");
    if (istarts_with(line, "content-disposition:")) name = parameter(line, "name");
  }
  if (name.empty()) return false;
  out[name] = std::string(part.substr(head_end + 4));
  return true;
}

tl::expected<std::map<std::string, std::string>, http_response> multipart(std::string_view boundary,
                                                                          std::string_view body) {
  const auto bad = [](std::string_view why) {
    return tl::unexpected(
        error_response(400, "malformed multipart/form-data body: " + std::string(why)));
  };
  if (boundary.empty()) return bad("no boundary in its Content-Type");
  const std::string delimiter = "--" + std::string(boundary);
  std::map<std::string, std::string> out;
  auto at = body.find(delimiter);
  if (at == std::string_view::npos) return bad("no boundary line");
  for (;;) {
    at += delimiter.size();
    if (body.substr(at).starts_with("--")) return out;  // the closing delimiter
    if (!body.substr(at).starts_with("\r\n")) return bad("a boundary line without CRLF");
    at += 2;
    const auto next = body.find("\r\n" + delimiter, at);
    if (next == std::string_view::npos) return bad("a part without the boundary that ends it");
    if (!read_part(body.substr(at, next - at), out)) return bad("a part without a field name");
    at = next + 2;
  }
}

}  // namespace

tl::expected<std::map<std::string, std::string>, http_response> form_fields(
    const http_request& request) {
  const auto field = request.fields.find("content-type");
  std::string_view type;  // (not a conditional expression: it would make a temporary string)
  if (field != request.fields.end()) type = field->second;
  if (istarts_with(type, "multipart/form-data")) {
    return multipart(parameter(type, "boundary"), request.body);
  }
  if (istarts_with(type, "application/x-www-form-urlencoded")) {
    auto fields = parse_urlencoded(request.body);
    if (!fields) return tl::unexpected(error_response(400, "malformed form: a bad %-escape"));
    return std::move(*fields);
  }
  return tl::unexpected(error_response(
      415, "a form is expected (multipart/form-data or application/x-www-form-urlencoded), not " +
               (type.empty() ? std::string("a body without Content-Type") : std::string(type))));
}

}  // namespace shfn::http
