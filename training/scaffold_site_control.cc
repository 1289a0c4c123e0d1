#include "training/scaffold_site_control.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <map>

#include "base/error.h"
#include "models/model_weights.h"
#include "wire/scaffold_controls.h"

namespace fedxray {
namespace {

// The float32 tensor `name` of `blob`, copied, or an undefined tensor when it has none.
torch::Tensor tensor_named(const ModelBlob& blob, const std::string& name,
                           const torch::Tensor& like) {
  for (const auto& t : blob.manifest.tensors()) {
    if (t.name() != name) continue;
    if (t.dtype() != wire::FLOAT32 || int64_t(t.nbytes()) != like.numel() * 4) {
      throw Error("SCAFFOLD control '" + name + "' is not float32 of the parameter's shape");
    }
    return torch::from_blob(const_cast<char*>(blob.bytes.data() + t.offset()), like.sizes(),
                            torch::kFloat32)
        .clone();
  }
  return {};
}

}  // namespace

ScaffoldSiteControl::ScaffoldSiteControl(ImageClassifier& model, const ModelBlob& global,
                                         const ModelBlob& kept) {
  for (const auto& p : model.named_parameters()) {
    const std::string control = scaffold_control_name(p.key());
    torch::Tensor c = tensor_named(global, control, p.value());
    if (!c.defined()) {
      throw Error("the SCAFFOLD job's global model has no control for parameter '" + p.key() + "'");
    }
    torch::Tensor ci;
    try {
      if (!kept.bytes.empty()) ci = tensor_named(kept, control, p.value());
    } catch (const Error& e) {  // e.g. a file left by an earlier job of the same name
      spdlog::warn("the site's kept SCAFFOLD control does not fit ({}); starting from zero",
                   e.what());
    }
    if (!ci.defined()) ci = torch::zeros_like(c);
    names_.push_back(p.key());
    correction_.push_back(c - ci);
    server_.push_back(std::move(c));
    site_.push_back(std::move(ci));
  }
}

ModelBlob ScaffoldSiteControl::update(ImageClassifier& model, const ModelSpec& spec,
                                      const ModelBlob& global) const {
  if (mean_gradient_.size() != names_.size()) throw Error("SCAFFOLD: training has not run");
  const ModelBlob weights = export_weights(model, spec);
  std::map<std::string, const wire::TensorSpec*> weight_at;
  for (const auto& t : weights.manifest.tensors()) weight_at[t.name()] = &t;
  std::map<std::string, std::size_t> parameter;
  for (std::size_t k = 0; k < names_.size(); ++k) parameter[scaffold_control_name(names_[k])] = k;
  ModelBlob out;
  out.manifest = global.manifest;
  out.manifest.clear_sha256();
  out.bytes.assign(global.manifest.total_bytes(), '\0');
  for (const auto& t : out.manifest.tensors()) {
    char* dst = out.bytes.data() + t.offset();
    if (auto w = weight_at.find(t.name()); w != weight_at.end()) {
      std::memcpy(dst, weights.bytes.data() + w->second->offset(), t.nbytes());
    } else if (auto k = parameter.find(t.name()); k != parameter.end()) {
      const std::size_t i = k->second;
      torch::Tensor sent = (server_[i] + (mean_gradient_[i] - site_[i])).contiguous();
      std::memcpy(dst, sent.data_ptr<float>(), t.nbytes());
    } else if (!is_scaffold_control(t.name())) {
      throw Error("the global model's tensor '" + t.name() + "' is not in the trained model");
    }  // else a control for a tensor no gradient moves: stays zero
  }
  out.seal();
  return out;
}

ModelBlob ScaffoldSiteControl::site_control(const ModelBlob& global) const {
  ModelBlob out;
  out.manifest.set_model(global.manifest.model());
  for (std::size_t k = 0; k < names_.size(); ++k) {
    append_tensor(out.manifest, scaffold_control_name(names_[k]), wire::FLOAT32,
                  mean_gradient_[k].sizes().vec());
  }
  out.bytes.resize(out.manifest.total_bytes());
  for (std::size_t k = 0; k < names_.size(); ++k) {
    torch::Tensor c = mean_gradient_[k].contiguous();
    std::memcpy(out.bytes.data() + out.manifest.tensors(int(k)).offset(), c.data_ptr<float>(),
                out.manifest.tensors(int(k)).nbytes());
  }
  out.seal();
  return out;
}

}  // namespace fedxray
