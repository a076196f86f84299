#include "wire/compression.h"

#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <climits>

#include "wire/errc.h"

namespace shfn::wire {
namespace {

result<bytes> lz4_compress(byte_view in) {
  if (in.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE)) return fail(errc::frame_too_large);
  bytes out(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(in.size()))));
  int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()),
                               reinterpret_cast<char*>(out.data()), static_cast<int>(in.size()),
                               static_cast<int>(out.size()));
  if (n <= 0) return fail(errc::bad_compressed_data);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

result<bytes> lz4_decompress(byte_view in, std::size_t size) {
  bytes out(size);
  int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()),
                              reinterpret_cast<char*>(out.data()), static_cast<int>(in.size()),
                              static_cast<int>(size));
  if (n < 0 || static_cast<std::size_t>(n) != size) return fail(errc::bad_compressed_data);
  return out;
}

result<bytes> zlib_compress(byte_view in) {
  uLongf n = compressBound(in.size());
  bytes out(n);
  if (compress2(out.data(), &n, in.data(), in.size(), Z_DEFAULT_COMPRESSION) != Z_OK) {
    return fail(errc::bad_compressed_data);
  }
  out.resize(n);
  return out;
}

result<bytes> zlib_decompress(byte_view in, std::size_t size) {
  bytes out(size);
  uLongf n = size;
  if (uncompress(out.data(), &n, in.data(), in.size()) != Z_OK || n != size) {
    return fail(errc::bad_compressed_data);
  }
  return out;
}

result<bytes> zstd_compress(byte_view in) {
  bytes out(ZSTD_compressBound(in.size()));
  std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n)) return fail(errc::bad_compressed_data);
  out.resize(n);
  return out;
}

result<bytes> zstd_decompress(byte_view in, std::size_t size) {
  bytes out(size);
  std::size_t n = ZSTD_decompress(out.data(), size, in.data(), in.size());
  if (ZSTD_isError(n) || n != size) return fail(errc::bad_compressed_data);
  return out;
}

result<bytes> snappy_compress_bytes(byte_view in) {
  std::size_t n = snappy_max_compressed_length(in.size());
  bytes out(n);
  if (snappy_compress(reinterpret_cast<const char*>(in.data()), in.size(),
                      reinterpret_cast<char*>(out.data()), &n) != SNAPPY_OK) {
    return fail(errc::bad_compressed_data);
  }
  out.resize(n);
  return out;
}

result<bytes> snappy_decompress_bytes(byte_view in, std::size_t size) {
  std::size_t declared = 0;
  const char* src = reinterpret_cast<const char*>(in.data());
  if (snappy_uncompressed_length(src, in.size(), &declared) != SNAPPY_OK || declared != size) {
    return fail(errc::bad_compressed_data);
  }
  bytes out(size);
  std::size_t n = size;
  if (snappy_uncompress(src, in.size(), reinterpret_cast<char*>(out.data()), &n) != SNAPPY_OK ||
      n != size) {
    return fail(errc::bad_compressed_data);
  }
  return out;
}

}  // namespace

result<bytes> compress(pb::CompressionType type, byte_view input) {
  switch (type) {
    case pb::NONE:
      return bytes(input.begin(), input.end());
    case pb::LZ4:
      return lz4_compress(input);
    case pb::ZLIB:
      return zlib_compress(input);
    case pb::ZSTD:
      return zstd_compress(input);
    case pb::SNAPPY:
      return snappy_compress_bytes(input);
  }
  return fail(errc::unknown_compression);
}

result<bytes> decompress(pb::CompressionType type, byte_view input, std::size_t uncompressed_size,
                         std::size_t max_size) {
  if (uncompressed_size > max_size || uncompressed_size > INT_MAX) {
    return fail(errc::decompressed_too_large);
  }
  switch (type) {
    case pb::NONE:
      return bytes(input.begin(), input.end());
    case pb::LZ4:
      return lz4_decompress(input, uncompressed_size);
    case pb::ZLIB:
      return zlib_decompress(input, uncompressed_size);
    case pb::ZSTD:
      return zstd_decompress(input, uncompressed_size);
    case pb::SNAPPY:
      return snappy_decompress_bytes(input, uncompressed_size);
  }
  return fail(errc::unknown_compression);
}

std::optional<pb::CompressionType> compression_from_name(std::string_view name) {
  if (name == "none") return pb::NONE;
  if (name == "lz4") return pb::LZ4;
  if (name == "zlib") return pb::ZLIB;
  if (name == "zstd") return pb::ZSTD;
  if (name == "snappy") return pb::SNAPPY;
  return std::nullopt;
}

}  // namespace shfn::wire
