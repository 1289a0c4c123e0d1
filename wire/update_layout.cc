#include "wire/update_layout.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/error.h"

namespace fedxray {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

const char* const kStatistics[] = {".running_mean", ".running_var", ".num_batches_tracked"};

}  // namespace

bool is_running_statistic(const std::string& tensor_name) {
  for (const char* tail : kStatistics) {
    if (ends_with(tensor_name, tail)) return true;
  }
  return false;
}

std::set<std::string> normalization_tensors(const wire::ModelManifest& manifest) {
  std::set<std::string> present;
  for (const auto& t : manifest.tensors()) present.insert(t.name());
  std::set<std::string> out;
  const std::string mean = ".running_mean";
  for (const auto& t : manifest.tensors()) {
    if (!ends_with(t.name(), mean)) continue;
    const std::string module = t.name().substr(0, t.name().size() - mean.size());
    for (const char* part :
         {".weight", ".bias", ".running_mean", ".running_var", ".num_batches_tracked"}) {
      if (present.count(module + part)) out.insert(module + part);
    }
  }
  return out;
}

wire::ModelManifest normalization_layout(const wire::ModelManifest& manifest) {
  const std::set<std::string> names = normalization_tensors(manifest);
  wire::ModelManifest out;
  out.set_model(manifest.model());
  out.set_classes(manifest.classes());
  out.set_task(manifest.task());
  out.set_image_size(manifest.image_size());
  for (const auto& t : manifest.tensors()) {
    if (names.count(t.name())) {
      append_tensor(out, t.name(), t.dtype(), {t.shape().begin(), t.shape().end()});
    }
  }
  return out;
}

namespace {

// Calls convert(second moment or variance, mean) for each running_var element and its mean.
template <typename Convert>
void each_running_variance(ModelBlob& model, Convert convert) {
  std::map<std::string, const wire::TensorSpec*> by_name;
  for (const auto& t : model.manifest.tensors()) by_name[t.name()] = &t;
  const std::string var = ".running_var";
  for (const auto& t : model.manifest.tensors()) {
    if (!ends_with(t.name(), var)) continue;
    auto m = by_name.find(t.name().substr(0, t.name().size() - var.size()) + ".running_mean");
    if (m == by_name.end() || m->second->nbytes() != t.nbytes() ||
        m->second->dtype() != t.dtype()) {
      throw Error(t.name() + " has no running mean of its shape");
    }
    const std::size_t esize = dtype_size(t.dtype());
    for (std::size_t i = 0; i < t.nbytes(); i += esize) {
      char* at = model.bytes.data() + t.offset() + i;
      const double mean = load_element(t.dtype(), model.bytes.data() + m->second->offset() + i);
      store_element(t.dtype(), convert(load_element(t.dtype(), at), mean), at);
    }
  }
  model.seal();
}

}  // namespace

void variances_to_second_moments(ModelBlob& model) {
  each_running_variance(model, [](double var, double mean) { return var + mean * mean; });
}

int second_moments_to_variances(ModelBlob& model) {
  int clamped = 0;
  each_running_variance(model, [&clamped](double m2, double mean) {
    const double var = m2 - mean * mean;
    clamped += var < 0 ? 1 : 0;
    return std::max(0.0, var);
  });
  return clamped;
}

bool sends_pooled_statistics(const wire::JobSpec& job, int round) {
  return job.fedbn().enabled() && job.fedbn().pooled_statistics() == "site-average" &&
         round == int(job.rounds());
}

wire::ModelManifest update_layout(const wire::JobSpec& job, int round,
                                  const wire::ModelManifest& global) {
  wire::ModelManifest out;
  out.set_model(global.model());
  out.set_classes(global.classes());
  out.set_task(global.task());
  out.set_image_size(global.image_size());
  std::set<std::string> kept_local;
  if (job.fedbn().enabled() && !sends_pooled_statistics(job, round)) {
    kept_local = normalization_tensors(global);
    if (kept_local.empty()) {
      throw Error("job " + job.job_id() + " uses FedBN but model '" + global.model() +
                  "' has no batch-norm layers to keep at the sites; drop job.fedbn or pick "
                  "a model with batch norm (cnn-small-bn, resnet18, densenet121)");
    }
  }
  for (const auto& t : global.tensors()) {
    if (kept_local.count(t.name())) continue;
    append_tensor(out, t.name(), t.dtype(), {t.shape().begin(), t.shape().end()});
  }
  return out;
}

ModelBlob restrict_to(const ModelBlob& blob, const wire::ModelManifest& layout) {
  std::map<std::string, const wire::TensorSpec*> by_name;
  for (const auto& t : blob.manifest.tensors()) by_name[t.name()] = &t;
  ModelBlob out;
  out.manifest = layout;
  out.manifest.clear_sha256();
  out.bytes.resize(layout.total_bytes());
  for (const auto& t : layout.tensors()) {
    auto it = by_name.find(t.name());
    if (it == by_name.end()) throw Error("the model has no tensor '" + t.name() + "'");
    const wire::TensorSpec& from = *it->second;
    if (from.dtype() != t.dtype() || from.nbytes() != t.nbytes() ||
        !std::equal(from.shape().begin(), from.shape().end(), t.shape().begin(), t.shape().end())) {
      throw Error("tensor '" + t.name() + "' has another dtype or shape than the layout's");
    }
    std::memcpy(out.bytes.data() + t.offset(), blob.bytes.data() + from.offset(), t.nbytes());
  }
  out.seal();
  return out;
}

}  // namespace fedxray
