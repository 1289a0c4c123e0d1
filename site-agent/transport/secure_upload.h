// The site's half of a secure-aggregation round, after local training: exchange keys and
// secret shares with the other selected sites through the coordinator, mask the update and
// upload it, then reveal the shares the coordinator needs to remove the masks (never both kinds
// for one site; privacy/SecAggSite enforces that).
//
// What is masked is the model delta (trained - global), clipped per coordinate to the job's
// clip, times the site's weight (its sample count, capped at the dataset size it declared at
// Join), in fixed point; a last word carries the weight itself, so the coordinator can divide
// the sum by the total weight. Throws fedxray::Error with the reason when the site is excluded
// from the round or the coordinator refuses a step; the round then counts as failed for it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "fedxray/proto/fedxray.grpc.pb.h"
#include "pki/tls.h"
#include "privacy/secagg/secure_aggregation_site.h"
#include "training/trainer.h"

namespace fedxray {

// Called with the name of each step before it is sent ("advert", "shares", "receipt", "upload",
// "await_unmask", "reveal"); throwing from it abandons the round there (tests use this to play a
// site that drops mid-round).
using SecureStepObserver = std::function<void(const std::string& step)>;

// Reads the site's certificate, key and CA files (its startup kit) for run_secure_round.
SiteCredentials read_site_credentials(const std::string& site_name, const TlsFiles& kit);

void run_secure_round(wire::Coordinator::Stub& stub, const SiteCredentials& credentials,
                      const wire::WorkReply& work, const ModelBlob& global,
                      const TrainingResult& result, uint64_t declared_dataset_size,
                      const SecureStepObserver& observer);

// The ring vector of one site's weighted, clipped delta (without masks); exposed for tests.
// Returns how many coordinates were clipped in `clipped`.
std::vector<uint32_t> encode_weighted_delta(const ModelBlob& global, const ModelBlob& trained,
                                            double weight, double clip, double scale,
                                            std::size_t& clipped);

}  // namespace fedxray
