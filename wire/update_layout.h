// Which tensors of the global model a site's update carries, torch-free, so that the site agent
// (what it sends) and the coordinator (what it accepts and aggregates) apply one rule.
//
// Normally an update has the global model's layout. Under FedBN (JobSpec.fedbn) the batch-norm
// tensors stay at the site and are left out, except in the job's last round when the job asks
// for pooled statistics ("site-average"): then they are sent once, with each running_var
// replaced by the second moment running_var + running_mean^2, so that the weighted mean of the
// updates gives the pooled mean and (after subtracting the pooled mean squared) the pooled
// variance of all sites' activations.
#pragma once

#include <set>
#include <string>

#include "fedxray/proto/fedxray.pb.h"
#include "wire/model_blob.h"

namespace fedxray {

// "<module>.running_mean", "<module>.running_var" or "<module>.num_batches_tracked".
bool is_running_statistic(const std::string& tensor_name);

// The batch-norm tensors of `manifest`: for each "<m>.running_mean", the tensors <m>.weight,
// <m>.bias, <m>.running_mean, <m>.running_var and <m>.num_batches_tracked that exist.
std::set<std::string> normalization_tensors(const wire::ModelManifest& manifest);

// The layout of just those tensors, in `manifest`'s order (what a FedBN site keeps).
wire::ModelManifest normalization_layout(const wire::ModelManifest& manifest);

// Whether a FedBN job's update for `round` carries the sites' batch-norm statistics.
bool sends_pooled_statistics(const wire::JobSpec& job, int round);

// For each "<m>.running_var" of `model` with a "<m>.running_mean" of its shape: replace the
// variance with the second moment var + mean^2 (what a site sends in a pooled-statistics round),
// or back: the second moment with the variance m2 - mean^2, clamped at 0 (what the coordinator
// publishes from the mean of the sites' second moments; returns how many values it clamped).
// Sealed afterwards. Throws Error for a running_var without a matching running_mean.
void variances_to_second_moments(ModelBlob& model);
int second_moments_to_variances(ModelBlob& model);

// The layout of a site's update for `round` of `job` whose global model has layout `global`
// (no checksum). Throws Error for a FedBN job on a model without batch-norm layers.
wire::ModelManifest update_layout(const wire::JobSpec& job, int round,
                                  const wire::ModelManifest& global);

// The tensors of `blob` that `layout` names, laid out as `layout` says (sealed). Throws Error
// naming the first tensor that `blob` lacks or holds with another dtype or shape.
ModelBlob restrict_to(const ModelBlob& blob, const wire::ModelManifest& layout);

}  // namespace fedxray
