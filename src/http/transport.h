#pragma once
// A server's side of one connection: plain TCP, or TLS over it, so that the broker's sessions
// (pulsar+ssl://) and the HTTP server (https) read and write the same way either way.
//
// TLS is configured with the files Pulsar's broker names (tlsCertificateFilePath,
// tlsKeyFilePath, tlsTrustCertsFilePath, tlsRequireTrustedClientCertOnConnect): the server's
// certificate chain and key, and the CAs a client certificate must chain to. With trust certs
// given, clients are asked for a certificate; one that does not verify fails the handshake; a
// verified one names its subject (common_name()), which the broker takes as the client's role
// (Pulsar's "tls" authentication).
//
// One read and one write may be outstanding at once; the handshake comes before either. Runs
// on the socket's executor.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace shfn::http {

struct tls_files {
  std::filesystem::path certificate;  // PEM: the server's certificate (and its chain)
  std::filesystem::path key;          // PEM: its private key
  std::filesystem::path trust_certs;  // PEM: CAs for client certificates; empty: none asked for
  bool require_client_certificate = false;
};

// A server's TLS context from `files`, or what is wrong, naming the file.
tl::expected<std::shared_ptr<asio::ssl::context>, std::string> server_tls_context(
    const tls_files& files);

class transport {
 public:
  // `tls` null: plain TCP. The context must outlive the transport.
  explicit transport(asio::ip::tcp::socket socket, asio::ssl::context* tls = nullptr);

  // The TLS handshake; nothing for plain TCP. The error says why it failed, for the log.
  asio::awaitable<std::optional<std::string>> handshake();

  asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(asio::mutable_buffer into);

  template <class ConstBuffers>
  asio::awaitable<std::error_code> write(ConstBuffers buffers) {
    std::error_code ec;
    if (tls_) {
      co_await asio::async_write(*tls_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return ec;
  }

  // Stops sending (plain TCP: a half-close; TLS has no half-close, so nothing).
  void shutdown_send();
  void close();

  bool secure() const { return tls_ != nullptr; }
  asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }
  const asio::ip::tcp::socket& socket() const { return tls_ ? tls_->next_layer() : socket_; }
  // The subject common name of the client's certificate, verified; nullopt without one.
  std::optional<std::string> common_name() const;

 private:
  // One or the other holds the connection's socket: the stream owns it under TLS, so that a
  // transport can move (a stream over a reference would keep pointing at the old place).
  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
};

}  // namespace shfn::http
