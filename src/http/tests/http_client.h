#pragma once
// A blocking HTTP/1.1 client for tests of HTTP servers: scripted bytes out, replies in. Test
// code only (http_tests and the broker's admin API tests).

#include <algorithm>
#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace shfn::http::testing {

using tcp = asio::ip::tcp;

struct http_reply {
  int status = 0;                             // 0: the connection ended before a reply
  std::map<std::string, std::string> fields;  // names lower-cased
  std::string body;

  nlohmann::json body_json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string field(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? "" : it->second;
  }
};

// One connection to a server.
class http_client {
 public:
  explicit http_client(const tcp::endpoint& at) : socket_(io_) { socket_.connect(at); }

  // False once the connection is gone (the server closed it, and said so with a reset).
  bool send(std::string_view raw) {
    std::error_code ec;
    asio::write(socket_, asio::buffer(raw.data(), raw.size()), ec);
    return !ec;
  }
  void finish_sending() {
    std::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  // The next reply (interim 1xx ones included).
  http_reply read_reply() {
    http_reply r;
    std::size_t end = 0;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return r;
    }
    std::istringstream head(buffer_.substr(0, end));
    buffer_.erase(0, end + 4);
    std::string line;
    std::getline(head, line);
    std::istringstream status_line(line);
    std::string version;
    status_line >> version >> r.status;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const auto value_at = line.find_first_not_of(' ', colon + 1);
      r.fields[name] = value_at == std::string::npos ? "" : line.substr(value_at);
    }
    if (r.status < 200 || r.status == 204) return r;
    if (r.fields.contains("content-length")) {
      const std::size_t length = std::stoul(r.fields["content-length"]);
      while (buffer_.size() < length) {
        if (!fill()) break;
      }
      r.body = buffer_.substr(0, length);
      buffer_.erase(0, std::min(length, buffer_.size()));
    } else {
      while (fill()) {
      }
      r.body = std::move(buffer_);
      buffer_.clear();
    }
    return r;
  }

  // True when the server closed the connection and sent nothing more.
  bool closed_by_server() {
    while (fill()) {
    }
    return buffer_.empty();
  }

 private:
  bool fill() {
    std::array<char, 4096> chunk{};
    std::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(chunk), ec);
    if (ec) return false;
    buffer_.append(chunk.data(), n);
    return true;
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::string buffer_;
};

// The endpoint of an "http://ADDRESS:PORT" URL (an IP address, as the servers under test print).
inline tcp::endpoint endpoint_of(const std::string& url) {
  const std::string hostport = url.substr(url.find("://") + 3);
  const auto colon = hostport.rfind(':');
  return {asio::ip::make_address(hostport.substr(0, colon)),
          static_cast<unsigned short>(std::stoi(hostport.substr(colon + 1)))};
}

// One request on a connection of its own.
inline http_reply request(const tcp::endpoint& at, const std::string& method,
                          const std::string& target, const std::string& body = "") {
  http_client c(at);
  c.send(method + " " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" +
         (body.empty() ? "" : "Content-Length: " + std::to_string(body.size()) + "\r\n") + "\r\n" +
         body);
  return c.read_reply();
}

}  // namespace shfn::http::testing
