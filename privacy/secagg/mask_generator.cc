#include "privacy/secagg/mask_generator.h"

#include <openssl/evp.h>

#include <memory>

#include "base/error.h"

namespace fedxray {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// An AES-CTR keystream positioned at the block that holds `first_word`.
CipherCtx keystream_at(const std::string& seed, uint64_t first_word) {
  if (seed.size() != 32) throw Error("mask seed must be 32 bytes");
  const uint64_t block = first_word / 4;  // 4 words per AES block; counter = big-endian index
  unsigned char iv[16] = {0};
  for (int i = 0; i < 8; ++i) iv[15 - i] = static_cast<unsigned char>(block >> (8 * i));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  // AES-128 keyed by the first half of the seed: 10 rounds instead of 14, and 128-bit security
  // is ample for one-round masks (each seed masks one vector once).
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ctr(), nullptr,
                                 reinterpret_cast<const unsigned char*>(seed.data()), iv) != 1) {
    throw Error("AES-128-CTR set-up failed");
  }
  return ctx;
}

}  // namespace

void apply_masks(const std::vector<Mask>& masks, uint64_t first_word, uint32_t* words,
                 std::size_t count) {
  if (count == 0 || masks.empty()) return;
  std::vector<CipherCtx> streams;
  for (const auto& m : masks) streams.push_back(keystream_at(m.seed, first_word));
  constexpr std::size_t kBatchWords = 8192;  // 32 KiB of the vector stays in L1/L2 for all masks
  static thread_local std::vector<unsigned char> zeros((kBatchWords + 4) * 4, 0);
  static thread_local std::vector<uint32_t> stream(kBatchWords + 4);
  std::size_t lead = std::size_t(first_word % 4);  // keystream words before first_word
  for (std::size_t done = 0; done < count;) {
    const std::size_t want = std::min(kBatchWords, count - done);
    uint32_t* out = words + done;
    for (std::size_t m = 0; m < masks.size(); ++m) {
      int len = 0;
      if (EVP_EncryptUpdate(streams[m].get(), reinterpret_cast<unsigned char*>(stream.data()), &len,
                            zeros.data(), int((want + lead) * 4)) != 1) {
        throw Error("AES-128-CTR keystream failed");
      }
      const uint32_t* mask = stream.data() + lead;
      if (masks[m].sign == MaskSign::add) {
        for (std::size_t k = 0; k < want; ++k) out[k] += mask[k];
      } else {
        for (std::size_t k = 0; k < want; ++k) out[k] -= mask[k];
      }
    }
    done += want;
    lead = 0;
  }
}

void apply_mask(const std::string& seed, uint64_t first_word, uint32_t* words, std::size_t count,
                MaskSign sign) {
  apply_masks({Mask{seed, sign}}, first_word, words, count);
}

}  // namespace fedxray
