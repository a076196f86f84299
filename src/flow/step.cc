#include "flow/step.h"

#include <algorithm>
#include <utility>

#include "event/display.h"
#include "event/http_binding.h"
#include "http/errc.h"
#include "http/http_client.h"

namespace shfn::flow {

using asio::awaitable;
using function::step_result;

namespace {

// What a dead letter keeps of a response body (Knative keeps 1 KiB of it in knativeerrordata).
constexpr std::size_t error_data_limit = 1024;

exec::outcome failed(std::string message, int code = 0, std::string body = {}) {
  if (body.size() > error_data_limit) body.resize(error_data_limit);
  return {.what = exec::failure::exit_code,
          .exit_code = code,
          .stderr_tail = std::move(body),
          .message = std::move(message)};
}

class attribute_filter final : public step {
 public:
  explicit attribute_filter(event::filter f) : filter_(std::move(f)) {}

  awaitable<step_result> run(const client::message* m, event::cloud_event e) override {
    co_return answer(m, std::move(e));
  }
  bool answers_at_once() const override { return true; }
  step_result answer(const client::message*, event::cloud_event e) override {
    step_result r;
    if (event::matches(filter_, e)) r.reply = std::move(e);
    return r;
  }

 private:
  const event::filter filter_;
};

class uri_subscriber final : public step {
 public:
  // Over https, whom to trust is settled once: `ca_certs`, else the system's CAs.
  uri_subscriber(std::string uri, std::chrono::milliseconds timeout, std::string_view ca_certs)
      : uri_(std::move(uri)), timeout_(timeout) {
    auto url = http::parse_http_url(uri_);
    if (!url || !url->https) return;
    auto tls = http::client_tls_context(ca_certs);
    if (tls)
      tls_ = std::move(*tls);
    else
      tls_problem_ = tls.error();
  }

  awaitable<step_result> run(const client::message*, event::cloud_event e) override {
    step_result r;
    auto url = http::parse_http_url(uri_);
    if (!url || !tls_problem_.empty()) {  // the config checked them: only a bug gets here
      r.outcome =
          failed("cannot POST to " + uri_ + ": " + (url ? tls_problem_ : url.error().message()));
      r.permanent = true;
      co_return r;
    }
    event::http_message request = event::to_http(e);
    http::header_fields headers(request.headers.begin(), request.headers.end());
    std::string body(request.body.begin(), request.body.end());
    const http::http_client_limits limits{.timeout = timeout_, .tls = tls_};
    auto reply = co_await http::post(std::move(*url), std::move(headers), std::move(body), limits);
    if (!reply) {
      r.outcome = failed("POST " + uri_ + ": " + reply.error().message());
      r.permanent = !http::is_retryable(reply.error());
      co_return r;
    }
    co_return read_reply(*reply, e);
  }

 private:
  step_result read_reply(const http::http_reply& reply, const event::cloud_event& in) const {
    step_result r;
    const std::string status = std::to_string(reply.status);
    switch (http::classify(reply.status)) {
      case http::status_class::success:
        break;
      case http::status_class::retryable:
        r.outcome = failed("POST " + uri_ + ": HTTP " + status, reply.status, reply.body);
        return r;
      case http::status_class::permanent:
        r.outcome = failed("POST " + uri_ + ": HTTP " + status + " (not retried)", reply.status,
                           reply.body);
        r.permanent = true;
        return r;
    }
    const byte_view body = as_bytes(reply.body);
    const event::header_list fields(reply.fields.begin(), reply.fields.end());
    auto event = event::from_http(fields, body);
    if (event) {
      if (*event) r.reply = std::move(**event);
      return r;  // nullopt: 2xx without a body, no reply
    }
    if (event.error().code != event::errc::not_a_cloud_event) {
      r.outcome = failed("POST " + uri_ + ": HTTP " + status +
                             " with an invalid reply event: " + event.error().to_string(),
                         reply.status, reply.body);
      r.permanent = true;
      return r;
    }
    // A plain body: the input's event carries it as its new data.
    event::cloud_event e = in;
    e.data.assign(body.begin(), body.end());
    e.has_data = true;
    e.datacontenttype.reset();
    if (auto type = reply.field("content-type")) e.datacontenttype = std::string(*type);
    r.reply = std::move(e);
    return r;
  }

  const std::string uri_;
  const std::chrono::milliseconds timeout_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::string tls_problem_;
};

class display_subscriber final : public step {
 public:
  explicit display_subscriber(display_printer print) : print_(std::move(print)) {}

  awaitable<step_result> run(const client::message*, event::cloud_event e) override {
    print_(event::display(e));
    co_return step_result{};
  }

 private:
  const display_printer print_;
};

}  // namespace

std::unique_ptr<step> attribute_filter_step(event::filter f) {
  return std::make_unique<attribute_filter>(std::move(f));
}

std::unique_ptr<step> uri_step(std::string uri, std::chrono::milliseconds timeout,
                               std::string_view ca_certs) {
  return std::make_unique<uri_subscriber>(std::move(uri), timeout, ca_certs);
}

std::unique_ptr<step> display_step(display_printer print) {
  return std::make_unique<display_subscriber>(std::move(print));
}

}  // namespace shfn::flow
