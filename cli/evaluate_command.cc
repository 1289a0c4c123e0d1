#include <CLI/CLI.hpp>

#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/config_reader.h"
#include "common/model_file.h"
#include "common/site_config.h"
#include "models/model_weights.h"
#include "site-agent/data_source.h"
#include "site-agent/local_training.h"

namespace fedxray {

void add_evaluate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "Evaluate a model file on a site's held-out data");
  auto model_path = std::make_shared<std::string>();
  auto data_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--model", *model_path, "model file (.fxm), e.g. <state>/<job>/pooled.fxm")
      ->required();
  cmd->add_option("--data", *data_path, "site YAML whose `site.data` section names the data")
      ->required();
  cmd->add_flag("--json", *json, "print one JSON object instead of a table");
  cmd->callback([=] {
    ModelBlob blob = read_model_file(*model_path);
    auto model = model_from_blob(blob);
    SiteConfig site = load_site_config(*data_path);
    const int classes = int(blob.manifest.classes());
    TrainHeldOut data =
        make_data_source(site.data)->load(classes, int(blob.manifest.image_size()));
    Evaluation e = evaluate(*model, data.held_out, classes);
    nlohmann::json out = {{"model", *model_path}, {"model_sha256", blob.manifest.sha256()},
                          {"data", *data_path},   {"images", e.count},
                          {"loss", e.loss},       {"accuracy", e.accuracy},
                          {"confusion", e.confusion}};
    if (*json) {
      std::cout << out.dump() << "\n";
      return;
    }
    std::cout << "model    " << *model_path << " (" << blob.manifest.model() << ", sha256 "
              << blob.manifest.sha256().substr(0, 16) << "...)\n"
              << "data     " << *data_path << " held-out split, " << e.count << " images\n"
              << std::fixed << std::setprecision(4) << "loss     " << e.loss << "\n"
              << "accuracy " << e.accuracy << "\nconfusion (rows: true class, columns: predicted)\n";
    for (const auto& row : e.confusion) {
      for (auto v : row) std::cout << std::setw(7) << v;
      std::cout << "\n";
    }
  });
}

}  // namespace fedxray
