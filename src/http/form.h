#pragma once
// The fields of a form a request carries, as `pulsar-admin functions trigger` sends them
// (multipart/form-data, RFC 7578: one part per field, its name in Content-Disposition) and as
// `curl -d` sends them (application/x-www-form-urlencoded). A file part's content is its value.
//
// Pure: no I/O.

#include <map>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "http/http.h"

namespace shfn::http {

// The fields by name (the last of a name wins); else the answer to give: 400 for a body that
// does not parse as its Content-Type says, 415 for any other type.
tl::expected<std::map<std::string, std::string>, http_response> form_fields(
    const http_request& request);

}  // namespace shfn::http
