#include "http/transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>

namespace shfn::http {

namespace {

// OpenSSL's reason for the last failure, or the error code's message.
std::string reason(const std::error_code& ec) {
  std::string why = ec.message();
  if (const unsigned long e = ERR_peek_last_error(); e != 0) {
    std::array<char, 256> text{};
    ERR_error_string_n(e, text.data(), text.size());
    why = text.data();
  }
  ERR_clear_error();
  return why;
}

}  // namespace

tl::expected<std::shared_ptr<asio::ssl::context>, std::string> server_tls_context(
    const tls_files& files) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  std::error_code ec;
  const auto refused = [&](const char* name, const std::filesystem::path& file) {
    return tl::unexpected(std::string(name) + " " + file.string() + ": " + reason(ec));
  };
  ctx->use_certificate_chain_file(files.certificate.string(), ec);
  if (ec) return refused("tlsCertificateFilePath", files.certificate);
  ctx->use_private_key_file(files.key.string(), asio::ssl::context::pem, ec);
  if (ec) return refused("tlsKeyFilePath", files.key);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return tl::unexpected("tlsKeyFilePath " + files.key.string() +
                          ": the key does not match the certificate in " +
                          files.certificate.string());
  }
  if (!files.trust_certs.empty()) {
    ctx->load_verify_file(files.trust_certs.string(), ec);
    if (ec) return refused("tlsTrustCertsFilePath", files.trust_certs);
    auto mode = asio::ssl::verify_peer;
    if (files.require_client_certificate) mode |= asio::ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode);
  } else if (files.require_client_certificate) {
    return tl::unexpected(std::string(
        "tlsRequireTrustedClientCertOnConnect needs tlsTrustCertsFilePath: the CAs that client "
        "certificates must chain to"));
  }
  return ctx;
}

transport::transport(asio::ip::tcp::socket socket, asio::ssl::context* tls)
    : socket_(socket.get_executor()) {
  if (tls != nullptr) {
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket), *tls);
  } else {
    socket_ = std::move(socket);
  }
}

asio::awaitable<std::optional<std::string>> transport::handshake() {
  if (!tls_) co_return std::nullopt;
  std::error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_return std::nullopt;
  co_return reason(ec);
}

asio::awaitable<std::pair<std::error_code, std::size_t>> transport::read_some(
    asio::mutable_buffer into) {
  std::error_code ec;
  std::size_t n = 0;
  if (tls_) {
    n = co_await tls_->async_read_some(into, asio::redirect_error(asio::use_awaitable, ec));
  } else {
    n = co_await socket_.async_read_some(into, asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::pair{ec, n};
}

void transport::shutdown_send() {
  if (tls_) return;
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void transport::close() {
  std::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

std::optional<std::string> transport::common_name() const {
  if (!tls_) return std::nullopt;
  SSL* ssl = tls_->native_handle();
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  std::optional<std::string> name;
  std::array<char, 256> cn{};
  if (SSL_get_verify_result(ssl) == X509_V_OK &&
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn.data(),
                                static_cast<int>(cn.size())) > 0) {
    name = std::string(cn.data());
  }
  X509_free(cert);
  return name;
}

}  // namespace shfn::http
