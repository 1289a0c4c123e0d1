#include "training/label_fit.h"

#include "base/error.h"

namespace fedxray {

void check_labels_fit(LabelTask task, const DataSource& data) {
  const bool segmentation_job = task == LabelTask::segmentation;
  if (segmentation_job && !data.has_masks()) {
    throw ShareableError(
        "the job is segmentation but this data has no masks; name the mask "
        "column in data.mask_column (of the site config, or of simulation.data)");
  }
  if (!segmentation_job && data.has_masks()) {
    throw ShareableError("this data has masks (data.mask_column) but the job's task is " +
                         label_task_name(task) + "; drop data.mask_column");
  }
  const bool multilabel_job = task == LabelTask::multilabel;
  if (multilabel_job && !data.multilabel()) {
    throw ShareableError(
        "the job is multilabel but this data gives one class per image; list the "
        "job's finding columns in data.label_columns (of the site config, or of "
        "simulation.data)");
  }
  if (!multilabel_job && data.multilabel()) {
    throw ShareableError(
        "this data lists several finding columns (data.label_columns) but the "
        "job's task is " +
        label_task_name(task) + "; use data.label_column for one class per image");
  }
}

}  // namespace fedxray
