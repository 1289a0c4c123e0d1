// The pseudo-random masks of secure aggregation: AES-256-CTR keyed by a 32-byte seed, read as
// little-endian 32-bit words and added to (or subtracted from) a vector in Z_2^32. The stream is
// seekable, so a vector that travels in chunks is masked chunk by chunk: word i of the mask only
// depends on the seed and i. Costs about one AES pass (AES-NI) over the vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fedxray {

enum class MaskSign { add, subtract };

// words[k] += / -= mask[first_word + k] for k < count (mod 2^32).
void apply_mask(const std::string& seed, uint64_t first_word, uint32_t* words, std::size_t count,
                MaskSign sign);

}  // namespace fedxray
