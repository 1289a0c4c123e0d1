#include "privacy/secagg/secure_aggregation_server.h"

#include <algorithm>
#include <exception>
#include <thread>

#include "base/error.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/mask_generator.h"
#include "privacy/secagg/participant_signature.h"
#include "privacy/secagg/secure_aggregation_site.h"
#include "privacy/secagg/shamir.h"

namespace fedxray {
namespace {

int degree_for(const SecAggRound& r) { return r.neighbours > 0 ? r.neighbours : int(r.sites.size()); }

}  // namespace

SecAggServer::SecAggServer(SecAggRound round, std::string ca_pem)
    : round_(std::move(round)), ca_pem_(std::move(ca_pem)),
      graph_(round_.sites, degree_for(round_), round_.graph_seed) {}

bool SecAggServer::takes_part(const std::string& site) const {
  return std::binary_search(graph_.sites().begin(), graph_.sites().end(), site) &&
         !excluded_.count(site);
}

std::string SecAggServer::exclusion_reason(const std::string& site) const {
  auto it = excluded_.find(site);
  if (it != excluded_.end()) return it->second;
  return takes_part(site) ? std::string() : "site '" + site + "' is not in this round";
}

void SecAggServer::exclude(const std::string& site, const std::string& reason) {
  excluded_.emplace(site, reason);
}

std::string SecAggServer::add_advert(const KeyAdvert& advert) {
  if (!std::binary_search(graph_.sites().begin(), graph_.sites().end(), advert.site)) {
    return "site '" + advert.site + "' is not in this round";
  }
  if (adverts_.count(advert.site)) return "site '" + advert.site + "' advertised keys twice";
  std::string why = check_site_signature(ca_pem_, advert.certificate_pem, advert.site,
                                         advert.signed_bytes(round_), advert.signature);
  if (why.empty() && (advert.encryption_public_key.size() != 32 || advert.masking_public_key.size() != 32)) {
    why = "site '" + advert.site + "' advertised keys of the wrong length";
  }
  if (!why.empty()) {
    exclude(advert.site, why);
    return why;
  }
  adverts_[advert.site] = advert;
  return {};
}

std::vector<KeyAdvert> SecAggServer::directory() const {
  std::vector<KeyAdvert> out;
  for (const auto& [site, advert] : adverts_) out.push_back(advert);
  return out;
}

std::string SecAggServer::add_shares(const std::string& site, const std::vector<SealedShare>& shares) {
  if (!adverts_.count(site) || excluded_.count(site)) return "site '" + site + "' has no valid keys";
  if (shared_.count(site)) return "site '" + site + "' sent its shares twice";
  std::set<std::string> expected;
  for (const auto& v : graph_.neighbours(site)) {
    if (adverts_.count(v)) expected.insert(v);
  }
  std::set<std::string> got;
  for (const auto& s : shares) {
    if (s.from != site || !expected.count(s.to) || !got.insert(s.to).second) {
      const std::string why = "site '" + site + "' sent a share message from '" + s.from +
                              "' to '" + s.to + "', which is not one per valid neighbour";
      exclude(site, why);
      return why;
    }
  }
  if (got != expected) {
    const std::string why = "site '" + site + "' sent shares to " + std::to_string(got.size()) +
                            " of its " + std::to_string(expected.size()) + " neighbours";
    exclude(site, why);
    return why;
  }
  for (const auto& s : shares) inbox_[s.to].push_back(s);
  shared_.insert(site);
  return {};
}

std::vector<SealedShare> SecAggServer::shares_for(const std::string& site) const {
  auto it = inbox_.find(site);
  if (it == inbox_.end()) return {};
  std::vector<SealedShare> out;
  for (const auto& s : it->second) {
    if (shared_.count(s.from)) out.push_back(s);
  }
  return out;
}

std::string SecAggServer::add_receipt(const ShareReceipt& receipt) {
  if (receipts_closed_) return "receipts are closed for this round";
  if (!shared_.count(receipt.site) || excluded_.count(receipt.site)) {
    return "site '" + receipt.site + "' did not share its secrets";
  }
  if (receipts_.count(receipt.site)) return "site '" + receipt.site + "' sent two receipts";
  std::set<std::string> senders;
  for (const auto& s : shares_for(receipt.site)) senders.insert(s.from);
  std::set<std::string> answered(receipt.accepted.begin(), receipt.accepted.end());
  for (const auto& [v, why] : receipt.rejected) answered.insert(v);
  if (answered != senders || answered.size() != receipt.accepted.size() + receipt.rejected.size()) {
    const std::string why = "site '" + receipt.site + "' sent a receipt that does not match the "
                            "share messages it was given";
    exclude(receipt.site, why);
    return why;
  }
  receipts_[receipt.site] = receipt;
  return {};
}

void SecAggServer::close_receipts() {
  if (receipts_closed_) return;
  receipts_closed_ = true;
  for (const auto& site : shared_) {
    if (!receipts_.count(site)) exclude(site, "site '" + site + "' sent no share receipt");
  }
  for (const auto& [site, receipt] : receipts_) {
    for (const auto& [v, why] : receipt.rejected) {
      exclude(v, "site '" + site + "' could not open the shares of '" + v + "': " + why);
    }
  }
  for (const auto& [site, receipt] : receipts_) {
    if (excluded_.count(site)) continue;
    std::vector<std::string> plan;
    for (const auto& v : receipt.accepted) {
      if (!excluded_.count(v)) plan.push_back(v);
    }
    if (int(plan.size()) + 1 < round_.threshold) {
      exclude(site, "site '" + site + "' has " + std::to_string(plan.size()) +
                        " neighbours left in the round; the threshold needs " +
                        std::to_string(round_.threshold - 1));
      continue;
    }
    plans_[site] = plan;
  }
}

MaskingPlan SecAggServer::plan_for(const std::string& site) const {
  auto it = plans_.find(site);
  if (it == plans_.end() || excluded_.count(site)) return {};
  return MaskingPlan{it->second};
}

std::string SecAggServer::can_send_masked_input(const std::string& site) const {
  if (!receipts_closed_ || !plans_.count(site) || excluded_.count(site)) {
    return "site '" + site + "' has no masking plan in this round";
  }
  if (delivered_.count(site)) return "site '" + site + "' sent its masked input twice";
  return {};
}

void SecAggServer::mark_delivered(const std::string& site) { delivered_.insert(site); }

std::string SecAggServer::add_masked_input(const std::string& site, const std::vector<uint32_t>& masked) {
  const std::string refused = can_send_masked_input(site);
  if (!refused.empty()) return refused;
  if (masked.size() != round_.vector_words) {
    const std::string why = "site '" + site + "' sent a masked vector of " +
                            std::to_string(masked.size()) + " words; the round expects " +
                            std::to_string(round_.vector_words);
    return why;  // treated as dropped: its pairwise masks are removed at the end
  }
  if (masked_sum_.empty()) masked_sum_.assign(round_.vector_words, 0u);
  for (std::size_t k = 0; k < masked.size(); ++k) masked_sum_[k] += masked[k];
  delivered_.insert(site);
  return {};
}

std::set<std::string> SecAggServer::survivors() const {
  std::set<std::string> out;
  for (const auto& s : delivered_) {
    if (!excluded_.count(s)) out.insert(s);
  }
  return out;
}

std::set<std::string> SecAggServer::dropped() const {
  std::set<std::string> out;
  for (const auto& [site, plan] : plans_) {
    if (!excluded_.count(site) && !delivered_.count(site)) out.insert(site);
  }
  return out;
}

UnmaskRequest SecAggServer::unmask_request() const {
  const auto s = survivors();
  const auto d = dropped();
  return UnmaskRequest{{s.begin(), s.end()}, {d.begin(), d.end()}};
}

std::string SecAggServer::add_unmask_response(const UnmaskResponse& response) {
  const auto s = survivors();
  const auto d = dropped();
  if (!s.count(response.site)) return "site '" + response.site + "' is not a survivor";
  if (responses_.count(response.site)) return "site '" + response.site + "' answered twice";
  const auto& plan = plans_.at(response.site);
  for (const auto& r : response.shares) {
    const bool neighbour = std::binary_search(plan.begin(), plan.end(), r.owner) ||
                           (r.owner == response.site && r.kind == ShareKind::self_mask_seed);
    const bool right_kind = (r.kind == ShareKind::self_mask_seed && s.count(r.owner)) ||
                            (r.kind == ShareKind::masking_key && d.count(r.owner));
    std::string why;
    if (!neighbour || !right_kind) {
      why = "a share of '" + r.owner + "' it was not asked for";
    } else {
      try {
        ShamirShare share = ShamirShare::parse(r.share);
        if (share.x != share_position(graph_, r.owner, response.site) || share.secret_bytes != 32) {
          why = "a share of '" + r.owner + "' at the wrong position";
        }
      } catch (const std::exception& e) {
        why = std::string("a malformed share: ") + e.what();
      }
    }
    if (!why.empty()) return "site '" + response.site + "' revealed " + why + "; its answer is ignored";
  }
  responses_[response.site] = response;
  return {};
}

SecAggReport SecAggServer::finish(std::vector<uint32_t>& sum) {
  return finish(masked_sum_, sum);
}

SecAggReport SecAggServer::finish(std::vector<uint32_t> masked_sum, std::vector<uint32_t>& sum) {
  sum.clear();
  SecAggReport report;
  report.excluded = excluded_;
  const auto s = survivors();
  const auto d = dropped();
  report.masked.assign(s.begin(), s.end());
  report.dropped.assign(d.begin(), d.end());
  auto fail = [&](const std::string& why) {
    report.failure = why;
    return report;
  };
  if (int(s.size()) < round_.threshold) {
    return fail(std::to_string(s.size()) + " sites delivered masked input; at least the threshold " +
                std::to_string(round_.threshold) + " must, so nothing is revealed");
  }
  // Shares of `owner`'s secret of `kind`, from the survivors that answered.
  auto recover = [&](const std::string& owner, ShareKind kind) -> std::string {
    std::vector<ShamirShare> shares;
    for (const auto& [site, response] : responses_) {
      for (const auto& r : response.shares) {
        if (r.owner == owner && r.kind == kind) shares.push_back(ShamirShare::parse(r.share));
      }
    }
    const std::string what = kind == ShareKind::self_mask_seed ? "self-mask seed" : "masking key";
    if (int(shares.size()) < round_.threshold) {
      throw Error("only " + std::to_string(shares.size()) + " shares of the " + what + " of '" +
                  owner + "' came back; " + std::to_string(round_.threshold) + " are needed");
    }
    std::string secret = shamir_recover(shares, round_.threshold);
    if (int(shares.size()) > round_.threshold) {  // a second subset must agree
      std::vector<ShamirShare> tail(shares.end() - round_.threshold, shares.end());
      if (shamir_recover(tail, round_.threshold) != secret) {
        throw Error("the shares of the " + what + " of '" + owner + "' disagree");
      }
    }
    return secret;
  };
  if (masked_sum.size() != round_.vector_words) masked_sum.assign(round_.vector_words, 0u);
  std::vector<uint32_t> result = std::move(masked_sum);
  try {
    std::vector<Mask> masks;  // every mask to take out, applied in one pass at the end
    for (const auto& u : s) masks.push_back({recover(u, ShareKind::self_mask_seed), MaskSign::subtract});
    for (const auto& v : d) {
      std::vector<std::string> partners;
      for (const auto& u : s) {
        const auto& plan = plans_.at(u);
        if (std::binary_search(plan.begin(), plan.end(), v)) partners.push_back(u);
      }
      if (partners.empty()) continue;
      const X25519KeyPair keys = X25519KeyPair::from_secret(recover(v, ShareKind::masking_key));
      if (keys.public_key != adverts_.at(v).masking_public_key) {
        throw Error("the recovered masking key of '" + v + "' does not match its advertised key");
      }
      for (const auto& u : partners) {
        const std::string seed = derive_pairwise_key(keys.secret_key, adverts_.at(u).masking_public_key,
                                                     pairwise_mask_context(round_));
        // u added +mask if u < v, -mask otherwise; take it back out.
        masks.push_back({seed, u < v ? MaskSign::subtract : MaskSign::add});
      }
    }
    // Two halves on two threads: unmasking is the coordinator's one CPU-heavy step.
    const std::size_t half = result.size() / 2;
    std::exception_ptr failed;
    std::thread second([&] {
      try {
        apply_masks(masks, half, result.data() + half, result.size() - half);
      } catch (...) {
        failed = std::current_exception();
      }
    });
    try {
      apply_masks(masks, 0, result.data(), half);
    } catch (...) {
      second.join();
      throw;
    }
    second.join();
    if (failed) std::rethrow_exception(failed);
  } catch (const std::exception& e) {
    return fail(std::string("cannot remove the masks: ") + e.what());
  }
  report.succeeded = true;
  sum = std::move(result);
  return report;
}

}  // namespace fedxray
