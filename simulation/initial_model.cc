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
    const LabelTask task = parse_label_task(job.task);
    if (parse_label_task(blob.manifest.task()) != task) {
      throw Error(job.initial_model + " is a model for " +
                  label_task_name(parse_label_task(blob.manifest.task())) + " but job.task is " +
                  label_task_name(task) + "; its outputs would mean something else");
    }
    return blob;
  }
  ModelSpec spec{job.model, job.classes, job.image_size, job.seed, parse_label_task(job.task)};
  auto model = create_model(spec);
  return export_weights(*model, spec);
}

}  // namespace fedxray
