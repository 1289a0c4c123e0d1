// The model a job starts from: the file named by job.initial_model, or a registry model
// initialised from job.seed. Either way it is checked against the job's model, classes and size.
#pragma once

#include "config/job_config.h"
#include "wire/model_blob.h"

namespace fedxray {

ModelBlob make_initial_model(const JobConfig& job);

}  // namespace fedxray
