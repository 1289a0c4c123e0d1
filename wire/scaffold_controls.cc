#include "wire/scaffold_controls.h"

#include "base/error.h"
#include "wire/update_layout.h"

namespace fedxray {

bool is_scaffold_control(const std::string& tensor_name) {
  return tensor_name.rfind(kScaffoldControlPrefix, 0) == 0;
}

std::string scaffold_control_name(const std::string& tensor_name) {
  return kScaffoldControlPrefix + tensor_name;
}

bool takes_scaffold_control(const wire::TensorSpec& tensor) {
  return (tensor.dtype() == wire::FLOAT32 || tensor.dtype() == wire::FLOAT64) &&
         !is_running_statistic(tensor.name()) && !is_scaffold_control(tensor.name());
}

ModelBlob with_zero_scaffold_controls(const ModelBlob& model) {
  if (scaffold_control_count(model.manifest) > 0) {
    throw Error("the model already holds SCAFFOLD control tensors");
  }
  ModelBlob out;
  out.manifest = model.manifest;
  out.manifest.clear_sha256();
  for (const auto& t : model.manifest.tensors()) {
    if (!takes_scaffold_control(t)) continue;
    append_tensor(out.manifest, scaffold_control_name(t.name()), t.dtype(),
                  {t.shape().begin(), t.shape().end()});
  }
  out.bytes = model.bytes;
  out.bytes.resize(out.manifest.total_bytes(), '\0');  // IEEE zero is all zero bytes
  out.seal();
  return out;
}

wire::ModelManifest without_scaffold_controls(const wire::ModelManifest& manifest) {
  wire::ModelManifest out;
  out.set_model(manifest.model());
  out.set_classes(manifest.classes());
  out.set_task(manifest.task());
  out.set_image_size(manifest.image_size());
  for (const auto& t : manifest.tensors()) {
    if (!is_scaffold_control(t.name())) {
      append_tensor(out, t.name(), t.dtype(), {t.shape().begin(), t.shape().end()});
    }
  }
  return out;
}

ModelBlob without_scaffold_controls(const ModelBlob& model) {
  if (scaffold_control_count(model.manifest) == 0) return model;
  return restrict_to(model, without_scaffold_controls(model.manifest));
}

int scaffold_control_count(const wire::ModelManifest& manifest) {
  int n = 0;
  for (const auto& t : manifest.tensors()) n += is_scaffold_control(t.name()) ? 1 : 0;
  return n;
}

}  // namespace fedxray
