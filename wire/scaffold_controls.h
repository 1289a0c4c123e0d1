// SCAFFOLD's control variates (Karimireddy et al., ICML 2020) as they travel with a model,
// torch-free.
//
// A SCAFFOLD job's global model holds, after the model's own tensors, one control tensor per
// trainable floating-point tensor, named kScaffoldControlPrefix + that tensor's name (torch
// names never hold '/'). The coordinator's tensors are the server control c; a site's update
// carries c + (its control update) in the same places, so the weighted mean the coordinator
// takes (plain or under secure aggregation) is c + the mean control update. Loading a model
// into LibTorch skips these tensors, so a SCAFFOLD job's pooled model loads like any other.
#pragma once

#include <string>

#include "wire/model_blob.h"

namespace fedxray {

inline constexpr char kScaffoldControlPrefix[] = "scaffold.control/";

bool is_scaffold_control(const std::string& tensor_name);
std::string scaffold_control_name(const std::string& tensor_name);

// Whether `tensor` gets a control: floating point and not a batch-norm running statistic
// (running_mean, running_var), which no gradient moves.
bool takes_scaffold_control(const wire::TensorSpec& tensor);

// `model` with a zero control appended for each tensor that takes one (sealed). Throws Error if
// it already holds controls.
ModelBlob with_zero_scaffold_controls(const ModelBlob& model);

// `model` without its control tensors (sealed): what a job that is not SCAFFOLD starts from when
// its initial_model file came from a SCAFFOLD job.
ModelBlob without_scaffold_controls(const ModelBlob& model);
wire::ModelManifest without_scaffold_controls(const wire::ModelManifest& manifest);

// How many control tensors `manifest` holds.
int scaffold_control_count(const wire::ModelManifest& manifest);

}  // namespace fedxray
