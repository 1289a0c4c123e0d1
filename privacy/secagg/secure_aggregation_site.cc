#include "privacy/secagg/secure_aggregation_site.h"

#include <algorithm>
#include <set>

#include "privacy/secagg/authenticated_encryption.h"
#include "privacy/secagg/mask_generator.h"
#include "privacy/secagg/participant_signature.h"

namespace fedxray {
namespace {

void put_bytes(std::string& out, const std::string& bytes) {
  const uint32_t n = uint32_t(bytes.size());
  for (int i = 0; i < 4; ++i) out.push_back(char((n >> (8 * i)) & 0xff));
  out += bytes;
}

std::string take_bytes(const std::string& in, std::size_t& at) {
  if (in.size() < at + 4) throw Error("truncated share message");
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= uint32_t(uint8_t(in[at + std::size_t(i)])) << (8 * i);
  at += 4;
  if (in.size() < at + n) throw Error("truncated share message");
  std::string out = in.substr(at, n);
  at += n;
  return out;
}

std::string sorted_joined(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + ",";
  return out;
}

bool contains(const std::vector<std::string>& sorted, const std::string& name) {
  return std::binary_search(sorted.begin(), sorted.end(), name);
}

}  // namespace

std::string SecAggRound::context() const {
  return "fedxray secagg v1\njob=" + job + "\nround=" + std::to_string(round) +
         "\nsites=" + sorted_joined(sites) + "\nthreshold=" + std::to_string(threshold) +
         "\nneighbours=" + std::to_string(neighbours) + "\ngraph_seed=" + graph_seed +
         "\nwords=" + std::to_string(vector_words);
}

std::string KeyAdvert::signed_bytes(const SecAggRound& round) const {
  std::string out = round.context();
  put_bytes(out, site);
  put_bytes(out, encryption_public_key);
  put_bytes(out, masking_public_key);
  return out;
}

std::string share_associated_data(const SecAggRound& round, const std::string& from,
                                  const std::string& to) {
  std::string out = round.context();
  put_bytes(out, from);
  put_bytes(out, to);
  return out;
}
std::vector<std::string> share_holders(const NeighbourGraph& graph, const std::string& owner) {
  std::vector<std::string> holders = graph.neighbours(owner);
  holders.insert(std::lower_bound(holders.begin(), holders.end(), owner), owner);
  return holders;
}

uint32_t share_position(const NeighbourGraph& graph, const std::string& owner,
                        const std::string& holder) {
  const auto holders = share_holders(graph, owner);
  auto it = std::lower_bound(holders.begin(), holders.end(), holder);
  if (it == holders.end() || *it != holder) {
    throw Error("'" + holder + "' holds no share of '" + owner + "'");
  }
  return uint32_t(it - holders.begin()) + 1;
}

std::string pairwise_mask_context(const SecAggRound& round) { return round.context() + "\nmask"; }
std::string share_key_context(const SecAggRound& round) { return round.context() + "\nshare"; }

SecAggSite::SecAggSite(SiteCredentials credentials, SecAggRound round)
    : credentials_(std::move(credentials)),
      round_(std::move(round)),
      graph_(round_.sites, round_.neighbours > 0 ? round_.neighbours : int(round_.sites.size()),
             round_.graph_seed) {
  graph_.neighbours(credentials_.name);  // throws when this site is not in the round
  if (round_.threshold < 1 || round_.threshold > graph_.degree() + 1) {
    throw SecAggRefusal("secure aggregation threshold " + std::to_string(round_.threshold) +
                        " must be between 1 and the number of neighbours + 1 (" +
                        std::to_string(graph_.degree() + 1) + ")");
  }
}

KeyAdvert SecAggSite::advertise() {
  if (stage_ != 0) throw SecAggRefusal("advertise called twice");
  encryption_keys_ = X25519KeyPair::generate();
  masking_keys_ = X25519KeyPair::generate();
  self_mask_seed_ = random_seed();
  KeyAdvert advert;
  advert.site = credentials_.name;
  advert.encryption_public_key = encryption_keys_.public_key;
  advert.masking_public_key = masking_keys_.public_key;
  advert.certificate_pem = credentials_.certificate_pem;
  advert.signature = sign_with_key(credentials_.private_key_pem, advert.signed_bytes(round_));
  stage_ = 1;
  return advert;
}

std::vector<SealedShare> SecAggSite::share_secrets(const std::vector<KeyAdvert>& directory) {
  if (stage_ != 1) throw SecAggRefusal("share_secrets out of order");
  const auto& neighbours = graph_.neighbours(credentials_.name);
  for (const auto& advert : directory) {
    if (!contains(neighbours, advert.site)) continue;
    if (neighbour_adverts_.count(advert.site)) {
      throw SecAggRefusal("the key directory lists site '" + advert.site + "' twice");
    }
    const std::string why = check_site_signature(credentials_.ca_pem, advert.certificate_pem,
                                                 advert.site, advert.signed_bytes(round_),
                                                 advert.signature);
    if (!why.empty()) throw SecAggRefusal("the key directory was tampered with: " + why);
    neighbour_adverts_[advert.site] = advert;
  }
  if (int(neighbour_adverts_.size()) + 1 < round_.threshold) {
    throw SecAggRefusal("only " + std::to_string(neighbour_adverts_.size()) +
                        " neighbours advertised keys; the threshold is " +
                        std::to_string(round_.threshold));
  }
  // Shares go to the neighbours and to this site itself (it reveals its own self-mask share).
  const std::vector<std::string> holders = share_holders(graph_, credentials_.name);
  const auto seed_shares = shamir_split(self_mask_seed_, round_.threshold, int(holders.size()));
  const auto key_shares = shamir_split(masking_keys_.secret_key, round_.threshold, int(holders.size()));
  std::vector<SealedShare> out;
  for (std::size_t i = 0; i < holders.size(); ++i) {
    if (holders[i] == credentials_.name) {
      held_[credentials_.name] = HeldShares{seed_shares[i], key_shares[i]};
      continue;
    }
    auto it = neighbour_adverts_.find(holders[i]);
    if (it == neighbour_adverts_.end()) continue;
    std::string plain;
    put_bytes(plain, seed_shares[i].serialize());
    put_bytes(plain, key_shares[i].serialize());
    const std::string key = derive_pairwise_key(encryption_keys_.secret_key,
                                                it->second.encryption_public_key,
                                                share_key_context(round_));
    out.push_back({credentials_.name, it->first,
                   seal(key, plain, share_associated_data(round_, credentials_.name, it->first))});
  }
  stage_ = 2;
  return out;
}

ShareReceipt SecAggSite::receive_shares(const std::vector<SealedShare>& addressed_to_me) {
  if (stage_ != 2) throw SecAggRefusal("receive_shares out of order");
  ShareReceipt receipt;
  receipt.site = credentials_.name;
  for (const auto& message : addressed_to_me) {
    try {
      if (message.to != credentials_.name) throw Error("addressed to '" + message.to + "'");
      auto advert = neighbour_adverts_.find(message.from);
      if (advert == neighbour_adverts_.end()) throw Error("not a neighbour with valid keys");
      if (held_.count(message.from)) throw Error("a second share message from the same site");
      const std::string key = derive_pairwise_key(encryption_keys_.secret_key,
                                                  advert->second.encryption_public_key,
                                                  share_key_context(round_));
      const std::string plain =
          open_sealed(key, message.sealed, share_associated_data(round_, message.from, message.to));
      std::size_t at = 0;
      HeldShares shares;
      shares.self_mask_seed = ShamirShare::parse(take_bytes(plain, at));
      shares.masking_key = ShamirShare::parse(take_bytes(plain, at));
      if (at != plain.size()) throw Error("trailing bytes in the share message");
      // My position in the sender's neighbour list is the x of my shares.
      const uint32_t x = share_position(graph_, message.from, credentials_.name);
      if (shares.self_mask_seed.x != x || shares.masking_key.x != x ||
          shares.self_mask_seed.secret_bytes != 32 || shares.masking_key.secret_bytes != 32) {
        throw Error("malformed shares (wrong position or length)");
      }
      held_[message.from] = std::move(shares);
      receipt.accepted.push_back(message.from);
    } catch (const std::exception& e) {
      receipt.rejected.emplace_back(message.from, e.what());
    }
  }
  std::sort(receipt.accepted.begin(), receipt.accepted.end());
  stage_ = 3;
  return receipt;
}

void SecAggSite::accept_plan(const MaskingPlan& plan) {
  if (stage_ != 3) throw SecAggRefusal("masking plan out of order");
  std::set<std::string> seen;
  for (const auto& v : plan.mask_with) {
    if (v == credentials_.name || !held_.count(v)) {
      throw SecAggRefusal("masking plan lists '" + v + "', whose shares this site does not hold");
    }
    if (!seen.insert(v).second) throw SecAggRefusal("masking plan lists '" + v + "' twice");
  }
  if (int(plan.mask_with.size()) < round_.threshold - 1) {
    // With fewer partners than the threshold, too few sites could ever unmask anyone.
    throw SecAggRefusal("masking plan has " + std::to_string(plan.mask_with.size()) +
                        " neighbours; at least threshold - 1 = " +
                        std::to_string(round_.threshold - 1) + " are needed");
  }
  plan_.assign(seen.begin(), seen.end());
  for (const auto& v : plan_) {
    pairwise_seeds_[v] = derive_pairwise_key(masking_keys_.secret_key,
                                             neighbour_adverts_.at(v).masking_public_key,
                                             pairwise_mask_context(round_));
  }
  stage_ = 4;
}

void SecAggSite::mask(uint32_t* words, std::size_t count, uint64_t first_word) const {
  if (stage_ != 4) throw SecAggRefusal("mask called before the masking plan");
  if (first_word + count > round_.vector_words) {
    throw SecAggRefusal("masking words past the round's vector length");
  }
  std::vector<Mask> masks{{self_mask_seed_, MaskSign::add}};
  for (const auto& [v, seed] : pairwise_seeds_) {
    masks.push_back({seed, credentials_.name < v ? MaskSign::add : MaskSign::subtract});
  }
  apply_masks(masks, first_word, words, count);
}

UnmaskResponse SecAggSite::unmask(const UnmaskRequest& request) {
  if (stage_ != 4) throw SecAggRefusal("unmask request out of order");
  std::set<std::string> survivors(request.survivors.begin(), request.survivors.end());
  std::set<std::string> dropped(request.dropped.begin(), request.dropped.end());
  if (!survivors.count(credentials_.name)) {
    throw SecAggRefusal("unmask request does not list this site as a survivor");
  }
  for (const auto& v : dropped) {
    if (survivors.count(v)) {
      throw SecAggRefusal("unmask request lists '" + v +
                          "' as both survivor and dropped: revealing both would expose its input");
    }
  }
  if (int(survivors.size()) < round_.threshold) {
    throw SecAggRefusal("unmask request has " + std::to_string(survivors.size()) +
                        " survivors, fewer than the threshold " + std::to_string(round_.threshold));
  }
  UnmaskResponse response;
  response.site = credentials_.name;
  std::map<std::string, ShareKind> answer{{credentials_.name, ShareKind::self_mask_seed}};
  for (const auto& v : plan_) {
    if (survivors.count(v)) answer[v] = ShareKind::self_mask_seed;
    else if (dropped.count(v)) answer[v] = ShareKind::masking_key;
  }
  for (const auto& [v, kind] : answer) {
    auto before = revealed_.find(v);
    if (before != revealed_.end() && before->second != kind) {
      throw SecAggRefusal("the coordinator asks for the other kind of share of '" + v +
                          "' after one was revealed: refused");
    }
  }
  for (const auto& [v, kind] : answer) {
    revealed_[v] = kind;
    const HeldShares& h = held_.at(v);
    response.shares.push_back(
        {v, kind, (kind == ShareKind::self_mask_seed ? h.self_mask_seed : h.masking_key).serialize()});
  }
  return response;
}

}  // namespace fedxray
