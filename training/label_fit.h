// Whether a data source's labels can serve a job's task (wire/label_task.h): a multi-label job
// needs finding columns, a segmentation job masks, and every other job one class per image.
// The site agent checks it before it loads a split, `simulate` before it builds its sites.
#pragma once

#include "data/data_source.h"
#include "wire/label_task.h"

namespace fedxray {

// Throws ShareableError (it names config keys, never data) saying what to change when not.
void check_labels_fit(LabelTask task, const DataSource& data);

}  // namespace fedxray
