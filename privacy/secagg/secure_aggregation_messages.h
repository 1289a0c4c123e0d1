// The messages of one secure-aggregation round (Bonawitz et al., CCS 2017, with the sparse graph
// of Bell et al., CCS 2020), in the order they flow. The coordinator relays all of them; only the
// ring sum of the surviving sites' inputs can be computed from what it sees.
//
//   1. every site -> KeyAdvert (two fresh X25519 public keys, signed with its certificate key)
//   2. coordinator -> every site: the directory of valid adverts
//      every site -> SealedShares: Shamir shares of its self-mask seed and masking secret key,
//      one AES-GCM sealed message per neighbour
//   3. coordinator -> each site: the sealed messages addressed to it
//      each site -> ShareReceipt: whose shares it could open (and why not for the others)
//   4. coordinator -> each site: MaskingPlan (the neighbours to mask with; sites whose shares
//      failed are excluded everywhere); each site -> its masked input vector
//   5. coordinator -> each survivor: UnmaskRequest (who delivered input, who dropped)
//      each survivor -> UnmaskResponse: self-mask-seed shares for survivors, masking-key shares
//      for dropped sites, never both kinds for one site
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedxray {

// The public parameters of one round; every site and the coordinator hold the same values.
struct SecAggRound {
  std::string job;
  int round = 0;
  std::vector<std::string> sites;  // the round's participants
  int threshold = 2;               // shares needed to recover any one site's secrets
  int neighbours = 0;              // graph degree k; 0 or >= n - 1 = complete graph
  std::string graph_seed;          // public randomness for the neighbour graph
  uint64_t vector_words = 0;       // length of every masked input, in 32-bit ring words

  // Bound into every signature, key derivation and sealed message of this round.
  std::string context() const;
};

struct KeyAdvert {
  std::string site;
  std::string encryption_public_key;  // X25519, for sealing shares
  std::string masking_public_key;     // X25519, for pairwise masks
  std::string certificate_pem;        // the site's consortium certificate
  std::string signature;              // over signed_bytes(), with the certificate's key

  std::string signed_bytes(const SecAggRound& round) const;
};

struct SealedShare {
  std::string from;
  std::string to;
  std::string sealed;  // AES-256-GCM(pairwise key, shares of from's two secrets)
};

struct ShareReceipt {
  std::string site;
  std::vector<std::string> accepted;                            // neighbours whose shares opened
  std::vector<std::pair<std::string, std::string>> rejected;    // neighbour, reason
};

struct MaskingPlan {
  std::vector<std::string> mask_with;  // this site's neighbours that take part from here on
};

struct UnmaskRequest {
  std::vector<std::string> survivors;  // delivered a masked input
  std::vector<std::string> dropped;    // were in a masking plan, delivered nothing
};

enum class ShareKind { self_mask_seed, masking_key };

struct RevealedShare {
  std::string owner;  // whose secret this is a share of
  ShareKind kind = ShareKind::self_mask_seed;
  std::string share;  // ShamirShare::serialize()
};

struct UnmaskResponse {
  std::string site;
  std::vector<RevealedShare> shares;
};

}  // namespace fedxray
