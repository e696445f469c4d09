#include "engine/server/node_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>

namespace kd::server {
namespace {

constexpr std::string_view kPrefix = "kdn.";
constexpr size_t kMacHexLength = 64;

std::string hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

std::string macHex(std::string_view key, std::string_view nodeName) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(nodeName.data()), nodeName.size(), mac.data(), &size);
  return hex(mac.data(), size);
}

}  // namespace

Result<std::string> newNodeTokenKey() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Status::internal("the system gave no random bytes for the node-token key");
  }
  return hex(bytes.data(), bytes.size());
}

std::string mintNodeToken(std::string_view key, std::string_view nodeName) {
  return std::string(kPrefix) + std::string(nodeName) + "." + macHex(key, nodeName);
}

std::optional<std::string> nodeOfToken(std::string_view key, std::string_view token) {
  if (key.empty() || !token.starts_with(kPrefix)) return std::nullopt;
  const size_t dot = token.rfind('.');
  if (dot <= kPrefix.size() || token.size() - dot - 1 != kMacHexLength) return std::nullopt;
  const std::string_view name = token.substr(kPrefix.size(), dot - kPrefix.size());
  const std::string expected = macHex(key, name);
  const std::string_view given = token.substr(dot + 1);
  if (CRYPTO_memcmp(expected.data(), given.data(), kMacHexLength) != 0) return std::nullopt;
  return std::string(name);
}

}  // namespace kd::server
