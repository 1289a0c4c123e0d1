#include "privacy/mask_generator.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/error.h"

namespace fedxray {

void apply_mask(const std::string& seed, uint64_t first_word, uint32_t* words, std::size_t count,
                MaskSign sign) {
  if (seed.size() != 32) throw Error("mask seed must be 32 bytes");
  if (count == 0) return;
  // 4 words per AES block; the counter block is the big-endian block index.
  const uint64_t first_block = first_word / 4;
  const std::size_t skip = std::size_t(first_word % 4);
  unsigned char iv[16] = {0};
  for (int i = 0; i < 8; ++i) iv[15 - i] = static_cast<unsigned char>(first_block >> (8 * i));
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr,
                                 reinterpret_cast<const unsigned char*>(seed.data()), iv) != 1) {
    throw Error("AES-256-CTR set-up failed");
  }
  constexpr std::size_t kBatchWords = 16384;  // 64 KiB of keystream at a time, stays in L2
  static thread_local std::vector<unsigned char> zeros(kBatchWords * 4 + 16, 0);
  static thread_local std::vector<uint32_t> stream(kBatchWords + 4);
  std::size_t done = 0;
  std::size_t lead = skip;  // keystream words to discard at the very start
  while (done < count) {
    const std::size_t want = std::min(kBatchWords, count - done);
    const std::size_t gen = want + lead;
    int len = 0;
    if (EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(stream.data()), &len,
                          zeros.data(), int(gen * 4)) != 1) {
      throw Error("AES-256-CTR keystream failed");
    }
    const uint32_t* mask = stream.data() + lead;
    uint32_t* out = words + done;
    if (sign == MaskSign::add) {
      for (std::size_t k = 0; k < want; ++k) out[k] += mask[k];
    } else {
      for (std::size_t k = 0; k < want; ++k) out[k] -= mask[k];
    }
    done += want;
    lead = 0;
  }
}

}  // namespace fedxray
