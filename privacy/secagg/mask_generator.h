// The pseudo-random masks of secure aggregation: AES-128-CTR keyed by the first 16 bytes of a
// 32-byte seed (the seeds come from HKDF-SHA256 or the CSPRNG), read as
// little-endian 32-bit words and added to (or subtracted from) a vector in Z_2^32. The stream is
// seekable, so a vector that travels in chunks is masked chunk by chunk: word i of the mask only
// depends on the seed and i. Several masks are applied in one pass over the vector, block by
// block, so the vector is read and written once however many masks there are (AES-NI makes the
// keystream cheaper than the memory traffic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fedxray {

enum class MaskSign { add, subtract };

struct Mask {
  std::string seed;  // 32 bytes
  MaskSign sign = MaskSign::add;
};

// words[k] += / -= mask[first_word + k] for k < count (mod 2^32), for every mask.
void apply_masks(const std::vector<Mask>& masks, uint64_t first_word, uint32_t* words,
                 std::size_t count);

// One mask: apply_masks({{seed, sign}}, ...).
void apply_mask(const std::string& seed, uint64_t first_word, uint32_t* words, std::size_t count,
                MaskSign sign);

}  // namespace fedxray
