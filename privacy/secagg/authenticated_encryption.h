// AES-256-GCM with a random 96-bit nonce, for Shamir shares travelling through the coordinator to
// their recipient: the coordinator relays them but can neither read nor alter them. `associated`
// data (sender, recipient, job, round) is authenticated, not encrypted, so a share cannot be
// replayed to another recipient or round.
#pragma once

#include <string>

namespace fedxray {

// nonce (12) || ciphertext || tag (16)
std::string seal(const std::string& key, const std::string& plaintext, const std::string& associated);

// Throws Error when the key is wrong, the message was altered, or `associated` differs.
std::string open_sealed(const std::string& key, const std::string& sealed, const std::string& associated);

}  // namespace fedxray
