// The site's differential-privacy step for DP-FedAvg jobs: after local training, replace the
// trained model by global + clip(trained - global) + noise (privacy/dp/client_dp.h), and weigh the
// site like every other (weight 1) so no site's influence exceeds the clip norm.
#pragma once

#include "fedxray/proto/fedxray.pb.h"
#include "training/trainer.h"
#include "wire/model_blob.h"

namespace fedxray {

// Does nothing unless job.differential_privacy is enabled. Logs the delta's norm before clipping.
void apply_client_privacy(const wire::JobSpec& job, const ModelBlob& global, TrainingResult& result);

}  // namespace fedxray
