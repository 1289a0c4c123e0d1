#include "config/simulation_config.h"

#include "config/config_reader.h"

namespace fedxray {

SimulationFile load_simulation_file(const std::string& file) {
  ConfigReader root = ConfigReader::load_file(file);
  SimulationFile out;
  out.job = read_job_config(root.section("job"));
  if (root.has("simulation")) {
    ConfigReader r = root.section("simulation");
    SimulationConfig& s = out.simulation;
    s.sites = int(r.integer("sites", 1, 64, s.sites));
    if (r.is_mapping("data")) {
      s.data = read_data_source_config(r.section("data"));
    } else {
      r.choice("data", {"synthetic"}, std::string("synthetic"));
    }
    for (ConfigReader item : r.section_list("site_data")) {
      s.site_data.push_back(read_data_source_config(item));
    }
    if (!s.site_data.empty()) {
      if (r.has("sites") && s.sites != int(s.site_data.size())) {
        r.fail("sites", "is " + std::to_string(s.sites) + " but site_data lists " +
                            std::to_string(s.site_data.size()) + " sites; drop one of them");
      }
      s.sites = int(s.site_data.size());
    }
    s.images_per_site = int(r.integer("images_per_site", 4, 1000000, s.images_per_site));
    s.held_out_fraction = r.number("held_out_fraction", 0.01, 0.9, s.held_out_fraction);
    s.partition = r.choice("partition", {"iid", "dirichlet"}, s.partition);
    s.dirichlet_alpha = r.number("dirichlet_alpha", 0.01, 1000, s.dirichlet_alpha);
    s.intensity_shift = r.number("intensity_shift", 0, 0.5, s.intensity_shift);
    s.seed = uint64_t(r.integer("seed", 0, INT64_MAX, int64_t(s.seed)));
    if (r.has("attack")) {
      ConfigReader a = r.section("attack");
      s.attack.site = int(a.integer("site", 1, s.sites));
      s.attack.kind = a.choice("kind", {"sign_flip"}, s.attack.kind);
      s.attack.scale = a.number("scale", 0.0, 1e6, s.attack.scale);
      a.finish();
    }
    r.finish();
  }
  if (out.job.sites_per_round > out.simulation.sites) {
      root.section("job").fail("sites_per_round",
                               "is " + std::to_string(out.job.sites_per_round) +
                                   " but the simulation starts only " +
                                   std::to_string(out.simulation.sites) +
                                   " sites; lower it or raise simulation.sites");
  }
  root.finish();
  return out;
}

}  // namespace fedxray
