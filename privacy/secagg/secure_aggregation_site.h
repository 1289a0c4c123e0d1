// SecAggSite: one site's side of a secure-aggregation round (see secure_aggregation_messages.h
// for the flow). It holds the round's secrets — two X25519 secret keys and the self-mask seed —
// in memory only, masks the site's input so the coordinator cannot read it, and answers the
// unmask request as an honest site must: for each neighbour it reveals a share of the self-mask
// seed (the neighbour delivered input) or of the masking key (the neighbour dropped), and never
// both, whatever the coordinator asks. Every violation throws SecAggRefusal with the reason.
// One object per site per round; calls must come in the protocol's order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/neighbour_graph.h"
#include "privacy/secagg/secure_aggregation_messages.h"
#include "privacy/secagg/shamir.h"

namespace fedxray {

// The site stops taking part in the round; what() says why.
class SecAggRefusal : public ShareableError {
 public:
  using ShareableError::ShareableError;
};

struct SiteCredentials {
  std::string name;
  std::string private_key_pem;   // the key of the site's consortium certificate
  std::string certificate_pem;
  std::string ca_pem;            // the consortium CA, to check the other sites' certificates
};

class SecAggSite {
 public:
  SecAggSite(SiteCredentials credentials, SecAggRound round);

  // 1. Fresh key pairs for this round, signed.
  KeyAdvert advertise();

  // 2. Checks every neighbour's advert in the directory (signature, certificate, name) and seals
  // one message of shares per valid neighbour. Refuses when the directory holds a forged or
  // altered advert (the coordinator tampered with it), or fewer than `threshold` neighbours.
  std::vector<SealedShare> share_secrets(const std::vector<KeyAdvert>& directory);

  // 3. Opens the shares addressed to this site; a message that does not open is rejected with
  // its reason (its sender is then excluded by the coordinator).
  ShareReceipt receive_shares(const std::vector<SealedShare>& addressed_to_me);

  // 4. Accepts the masking plan (refused unless every listed site is a neighbour whose shares
  // opened here), then masks: words[k] += self mask + sum over plan of +-pairwise mask, for the
  // words [first_word, first_word + count) of the input. May be called chunk by chunk.
  void accept_plan(const MaskingPlan& plan);
  void mask(uint32_t* words, std::size_t count, uint64_t first_word) const;

  // 5. Reveals shares as described above.
  UnmaskResponse unmask(const UnmaskRequest& request);

  const std::string& name() const { return credentials_.name; }

 private:
  struct HeldShares {
    ShamirShare self_mask_seed;
    ShamirShare masking_key;
  };

  SiteCredentials credentials_;
  SecAggRound round_;
  NeighbourGraph graph_;
  X25519KeyPair encryption_keys_;
  X25519KeyPair masking_keys_;
  std::string self_mask_seed_;
  std::map<std::string, KeyAdvert> neighbour_adverts_;   // valid neighbours from the directory
  std::map<std::string, HeldShares> held_;               // shares other sites sent me
  std::vector<std::string> plan_;                        // neighbours I mask with
  std::map<std::string, std::string> pairwise_seeds_;    // neighbour -> mask seed
  std::map<std::string, ShareKind> revealed_;            // what I revealed for whom
  int stage_ = 0;
};

// The AAD and context strings shared by site and coordinator.
std::string share_associated_data(const SecAggRound& round, const std::string& from,
                                  const std::string& to);
std::string pairwise_mask_context(const SecAggRound& round);
// Who holds shares of `owner`'s secrets: its neighbours and itself, sorted; a holder's share has
// x = its 1-based position in this list.
std::vector<std::string> share_holders(const NeighbourGraph& graph, const std::string& owner);
uint32_t share_position(const NeighbourGraph& graph, const std::string& owner,
                        const std::string& holder);
std::string share_key_context(const SecAggRound& round);

}  // namespace fedxray
