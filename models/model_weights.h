// Bridge between a torch module and the torch-free ModelBlob the wire and the coordinator use.
//
// export_weights() lays out every parameter and buffer (named as torch names them, in module
// order) as contiguous little-endian bytes and seals the SHA-256. import_weights() copies a
// blob back; it throws fedxray::Error naming the first tensor whose name, dtype or shape differs.
#pragma once

#include "models/image_classifier.h"
#include "models/model_registry.h"
#include "wire/model_blob.h"

namespace fedxray {

ModelBlob export_weights(ImageClassifier& model, const ModelSpec& spec);
void import_weights(ImageClassifier& model, const ModelBlob& blob);
// Copies each tensor of `part` (some of the model's tensors, by name: a site's batch-norm layers
// under FedBN) into the model; throws fedxray::Error naming a tensor the model lacks or holds
// with another dtype or shape.
void import_some_weights(ImageClassifier& model, const ModelBlob& part);

// Builds the registry model named in the blob's manifest and loads the weights into it.
std::shared_ptr<ImageClassifier> model_from_blob(const ModelBlob& blob);

}  // namespace fedxray
