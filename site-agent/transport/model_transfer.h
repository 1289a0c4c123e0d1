// The site's two halves of a model transfer over an established channel: download the round's
// global model (server stream, SHA-256 checked) and upload an update (client stream of <= 1 MiB
// chunks after a header with the sample count and local metrics).
//
// download_model() throws fedxray::Error with the coordinator's reason on refusal, a broken
// stream or a checksum mismatch. upload_update() returns the coordinator's status as it is:
// refusals (stale round, second upload, wrong layout) come back as non-OK with a reason.
#pragma once

#include <cstdint>
#include <string>

#include <grpcpp/grpcpp.h>

#include "fedxray/proto/fedxray.grpc.pb.h"
#include "wire/model_blob.h"

namespace fedxray {

// A model announcing more than `max_bytes` is refused before anything is allocated for it.
ModelBlob download_model(wire::Coordinator::Stub& stub, const std::string& job_id, int round,
                         uint64_t max_bytes = uint64_t(64) << 30);

grpc::Status upload_update(wire::Coordinator::Stub& stub, const std::string& job_id, int round,
                           const ModelBlob& model, uint64_t sample_count,
                           const wire::LocalMetrics& metrics = {});

}  // namespace fedxray
