#include "models/model_weights.h"

#include <cstring>
#include <map>

#include "base/error.h"
#include "wire/scaffold_controls.h"

namespace fedxray {
namespace {

wire::DType to_wire(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return wire::FLOAT32;
    case torch::kFloat64: return wire::FLOAT64;
    case torch::kInt64: return wire::INT64;
    case torch::kInt32: return wire::INT32;
    case torch::kUInt8: return wire::UINT8;
    default: throw Error("tensor dtype " + std::string(c10::toString(t)) + " cannot be exported");
  }
}

std::vector<std::pair<std::string, torch::Tensor>> named_state(ImageClassifier& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

}  // namespace

ModelBlob export_weights(ImageClassifier& model, const ModelSpec& spec) {
  ModelBlob blob;
  blob.manifest.set_model(spec.name);
  blob.manifest.set_classes(uint32_t(spec.classes));
  if (spec.task != LabelTask::classification) blob.manifest.set_task(label_task_name(spec.task));
  blob.manifest.set_image_size(uint32_t(spec.image_size));
  auto state = named_state(model);
  for (const auto& [name, t] : state) {
    append_tensor(blob.manifest, name, to_wire(t.scalar_type()), t.sizes().vec());
  }
  blob.bytes.resize(blob.manifest.total_bytes());
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < state.size(); ++i) {
    torch::Tensor c = state[i].second.detach().to(torch::kCPU).contiguous();
    std::memcpy(blob.bytes.data() + blob.manifest.tensors(int(i)).offset(), c.data_ptr(),
                blob.manifest.tensors(int(i)).nbytes());
  }
  blob.seal();
  return blob;
}

void import_weights(ImageClassifier& model, const ModelBlob& blob) {
  auto state = named_state(model);
  // A SCAFFOLD job's model also carries the server's control variates; they are not weights.
  std::vector<const wire::TensorSpec*> weights;
  for (const auto& t : blob.manifest.tensors()) {
    if (!is_scaffold_control(t.name())) weights.push_back(&t);
  }
  if (state.size() != weights.size()) {
    throw Error("model file has " + std::to_string(weights.size()) + " tensors but '" +
                blob.manifest.model() + "' has " + std::to_string(state.size()));
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto& spec = *weights[i];
    torch::Tensor& t = state[i].second;
    if (spec.name() != state[i].first || spec.dtype() != to_wire(t.scalar_type()) ||
        std::vector<int64_t>(spec.shape().begin(), spec.shape().end()) != t.sizes().vec()) {
      throw Error("model tensor '" + state[i].first + "' does not match '" + spec.name() +
                  "' in the model file (name, dtype or shape differ)");
    }
    torch::Tensor src = torch::from_blob(const_cast<char*>(blob.bytes.data() + spec.offset()),
                                         t.sizes(), t.options().device(torch::kCPU));
    t.copy_(src);
  }
}

void import_some_weights(ImageClassifier& model, const ModelBlob& part) {
  std::map<std::string, torch::Tensor> state;
  for (auto& [name, t] : named_state(model)) state.emplace(name, t);
  torch::NoGradGuard no_grad;
  for (const auto& spec : part.manifest.tensors()) {
    auto it = state.find(spec.name());
    if (it == state.end()) throw Error("the model has no tensor '" + spec.name() + "'");
    torch::Tensor& t = it->second;
    if (spec.dtype() != to_wire(t.scalar_type()) ||
        std::vector<int64_t>(spec.shape().begin(), spec.shape().end()) != t.sizes().vec()) {
      throw Error("model tensor '" + spec.name() + "' differs in dtype or shape from the saved one");
    }
    t.copy_(torch::from_blob(const_cast<char*>(part.bytes.data() + spec.offset()), t.sizes(),
                             t.options().device(torch::kCPU)));
  }
}

std::shared_ptr<ImageClassifier> model_from_blob(const ModelBlob& blob) {
  ModelSpec spec{blob.manifest.model(), int(blob.manifest.classes()),
                 int(blob.manifest.image_size()), 0, parse_label_task(blob.manifest.task())};
  auto model = create_model(spec);
  import_weights(*model, blob);
  return model;
}

}  // namespace fedxray
