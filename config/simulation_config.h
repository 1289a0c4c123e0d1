// SimulationConfig: the `simulation:` section of a `fedxray simulate` config (next to `job:`):
// how many sites to start on 127.0.0.1 and how to split one data pool across them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/job_config.h"
#include "config/site_config.h"

namespace fedxray {

// One simulated site turned hostile, to measure what robust aggregation buys (simulation only: a
// real site agent never does this). kind "sign_flip": the site sends
// global - scale x (its trained model - global) every round.
struct SimulatedAttack {
  int site = 0;  // 1-based; 0 = no attack
  std::string kind = "sign_flip";
  double scale = 10;
};

struct SimulationConfig {
  int sites = 3;
  // "synthetic" (the built-in generator, images_per_site each) or a `data:` mapping like a
  // site's, whose images are split across the simulated sites by patient.
  DataSourceConfig data;
  // Instead of splitting one pool: one data source per site (real institutions, each with its
  // own split). Sets the number of sites; partition and intensity_shift do not apply.
  std::vector<DataSourceConfig> site_data;
  int images_per_site = 600;
  double held_out_fraction = 0.25;
  std::string partition = "iid";      // "iid" or "dirichlet" (label skew)
  double dirichlet_alpha = 0.5;
  double intensity_shift = 0.1;       // site i is shifted by a value spread over +-this
  uint64_t seed = 7;
  SimulatedAttack attack;
};

struct SimulationFile {
  JobConfig job;
  SimulationConfig simulation;
};

SimulationFile load_simulation_file(const std::string& file);

}  // namespace fedxray
