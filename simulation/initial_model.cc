#include "simulation/initial_model.h"

#include "base/error.h"
#include "models/model_registry.h"
#include "models/model_weights.h"
#include "wire/model_file.h"

namespace fedxray {

ModelBlob make_initial_model(const JobConfig& job) {
  if (!job.initial_model.empty()) {
    ModelBlob blob = read_model_file(job.initial_model);
    if (blob.manifest.model() != job.model) {
      throw Error(job.initial_model + " holds model '" + blob.manifest.model() + "' but job.model is '" +
                  job.model + "'");
    }
    return blob;
  }
  ModelSpec spec{job.model, job.classes, job.image_size, job.seed};
  auto model = create_model(spec);
  return export_weights(*model, spec);
}

}  // namespace fedxray
