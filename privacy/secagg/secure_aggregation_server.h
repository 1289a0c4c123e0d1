// SecAggServer: the coordinator's side of a secure-aggregation round. It checks and relays the
// sites' messages, adds up their masked inputs in Z_2^32, and at the end removes the masks using
// the shares the survivors reveal: it learns the sum of the survivors' inputs and nothing about
// any single one. Sites that misbehave (forged advert, malformed shares, wrong-length input) are
// excluded with the reason, and the round goes on without them; too many drops fail the round
// cleanly. Single-threaded: the caller serialises calls (the coordinator holds its round lock).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "privacy/secagg/neighbour_graph.h"
#include "privacy/secagg/secure_aggregation_messages.h"

namespace fedxray {

struct SecAggReport {
  bool succeeded = false;
  std::string failure;                           // why the round failed; empty on success
  std::vector<std::string> masked;               // sites whose masked input is in the sum
  std::vector<std::string> dropped;              // took part in masking, then delivered nothing
  std::map<std::string, std::string> excluded;   // site -> reason
};

class SecAggServer {
 public:
  SecAggServer(SecAggRound round, std::string ca_pem);

  // Each add_* returns an empty string when accepted, or the reason the message was refused
  // (the site is then excluded from the round).
  std::string add_advert(const KeyAdvert& advert);
  std::vector<KeyAdvert> directory() const;

  std::string add_shares(const std::string& site, const std::vector<SealedShare>& shares);
  std::vector<SealedShare> shares_for(const std::string& site) const;

  std::string add_receipt(const ShareReceipt& receipt);
  // Call once every receipt is in (or the deadline passed). Excludes the sender of any share a
  // site could not open, and sites that sent no receipt.
  void close_receipts();
  MaskingPlan plan_for(const std::string& site) const;  // empty plan for an excluded site

  // The masked input of `site`, whole. Refused when the site has no plan or the length differs.
  std::string add_masked_input(const std::string& site, const std::vector<uint32_t>& masked);
  // The same in two steps, for inputs the caller streams into its own ring sum: may `site` send
  // its input now (empty = yes)? Then, once every word arrived, count it as delivered.
  std::string can_send_masked_input(const std::string& site) const;
  void mark_delivered(const std::string& site);

  UnmaskRequest unmask_request() const;
  std::string add_unmask_response(const UnmaskResponse& response);

  // Removes the masks and returns the ring sum of the survivors' inputs in `sum`; on failure
  // `sum` is left empty and the report says why.
  SecAggReport finish(std::vector<uint32_t>& sum);
  // The same, for a caller that summed the delivered inputs itself (mark_delivered).
  SecAggReport finish(std::vector<uint32_t> masked_sum, std::vector<uint32_t>& sum);

  const SecAggRound& round() const { return round_; }
  bool takes_part(const std::string& site) const;
  // Why `site` no longer takes part (empty while it does).
  std::string exclusion_reason(const std::string& site) const;

 private:
  void exclude(const std::string& site, const std::string& reason);
  std::set<std::string> survivors() const;
  std::set<std::string> dropped() const;

  SecAggRound round_;
  std::string ca_pem_;
  NeighbourGraph graph_;
  std::map<std::string, KeyAdvert> adverts_;
  std::map<std::string, std::vector<SealedShare>> inbox_;      // recipient -> messages
  std::set<std::string> shared_;                              // sent their shares
  std::map<std::string, ShareReceipt> receipts_;
  std::map<std::string, std::vector<std::string>> plans_;
  bool receipts_closed_ = false;
  std::set<std::string> delivered_;
  std::vector<uint32_t> masked_sum_;
  std::map<std::string, UnmaskResponse> responses_;
  std::map<std::string, std::string> excluded_;
};

}  // namespace fedxray
