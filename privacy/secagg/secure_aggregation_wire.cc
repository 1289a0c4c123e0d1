#include "privacy/secagg/secure_aggregation_wire.h"

namespace fedxray {

wire::SecAggKeyAdvert to_wire(const KeyAdvert& a) {
  wire::SecAggKeyAdvert w;
  w.set_site(a.site);
  w.set_encryption_public_key(a.encryption_public_key);
  w.set_masking_public_key(a.masking_public_key);
  w.set_certificate_pem(a.certificate_pem);
  w.set_signature(a.signature);
  return w;
}

KeyAdvert from_wire(const wire::SecAggKeyAdvert& w) {
  return KeyAdvert{w.site(), w.encryption_public_key(), w.masking_public_key(), w.certificate_pem(),
                   w.signature()};
}

wire::SecAggSealedShare to_wire(const SealedShare& s) {
  wire::SecAggSealedShare w;
  w.set_from(s.from);
  w.set_to(s.to);
  w.set_sealed(s.sealed);
  return w;
}

SealedShare from_wire(const wire::SecAggSealedShare& w) { return SealedShare{w.from(), w.to(), w.sealed()}; }

wire::SecAggReceipt to_wire(const ShareReceipt& r) {
  wire::SecAggReceipt w;
  for (const auto& a : r.accepted) w.add_accepted(a);
  for (const auto& [site, reason] : r.rejected) {
    auto* x = w.add_rejected();
    x->set_site(site);
    x->set_reason(reason);
  }
  return w;
}

ShareReceipt from_wire(const std::string& site, const wire::SecAggReceipt& w) {
  ShareReceipt r;
  r.site = site;
  r.accepted.assign(w.accepted().begin(), w.accepted().end());
  for (const auto& x : w.rejected()) r.rejected.emplace_back(x.site(), x.reason());
  return r;
}

wire::SecAggReveal to_wire(const UnmaskResponse& r) {
  wire::SecAggReveal w;
  for (const auto& s : r.shares) {
    auto* x = w.add_shares();
    x->set_owner(s.owner);
    x->set_masking_key(s.kind == ShareKind::masking_key);
    x->set_share(s.share);
  }
  return w;
}

UnmaskResponse from_wire(const std::string& site, const wire::SecAggReveal& w) {
  UnmaskResponse r;
  r.site = site;
  for (const auto& x : w.shares()) {
    r.shares.push_back({x.owner(), x.masking_key() ? ShareKind::masking_key : ShareKind::self_mask_seed,
                        x.share()});
  }
  return r;
}

wire::SecAggRoundParams to_wire(const SecAggRound& round, double scale, double clip) {
  wire::SecAggRoundParams p;
  for (const auto& s : round.sites) p.add_sites(s);
  p.set_threshold(uint32_t(round.threshold));
  p.set_neighbours(uint32_t(round.neighbours));
  p.set_graph_seed(round.graph_seed);
  p.set_vector_words(round.vector_words);
  p.set_scale(scale);
  p.set_clip(clip);
  return p;
}

SecAggRound from_wire(const std::string& job, int round, const wire::SecAggRoundParams& p) {
  SecAggRound r;
  r.job = job;
  r.round = round;
  r.sites.assign(p.sites().begin(), p.sites().end());
  r.threshold = int(p.threshold());
  r.neighbours = int(p.neighbours());
  r.graph_seed = p.graph_seed();
  r.vector_words = p.vector_words();
  return r;
}

}  // namespace fedxray
