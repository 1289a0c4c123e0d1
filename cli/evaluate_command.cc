#include <CLI/CLI.hpp>

#include <filesystem>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/sha256.h"
#include "cli/commands.h"
#include "config/config_reader.h"
#include "config/site_config.h"
#include "data/data_source.h"
#include "models/model_weights.h"
#include "models/torchscript_model.h"
#include "training/local_training.h"
#include "wire/model_file.h"

namespace fedxray {

void add_evaluate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "Evaluate a model file on a site's held-out data");
  auto model_path = std::make_shared<std::string>();
  auto data_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto all = std::make_shared<bool>(false);
  cmd->add_option("--model", *model_path,
                  "model file: .fxm (e.g. <state>/<job>/pooled.fxm) or a TorchScript .pt from fedxray")
      ->required();
  cmd->add_option("--data", *data_path,
                  "data source: a site YAML (its site.data) or a YAML with a top-level data: section")
      ->required();
  cmd->add_flag("--json", *json, "print one JSON object instead of a table");
  cmd->add_flag("--all", *all,
                "evaluate on every usable image of the source (training and held-out split "
                "together: a hospital's external test set), not only the held-out split");
  cmd->callback([=] {
    std::shared_ptr<ImageClassifier> model;
    int classes = 0, image_size = 0;
    std::string kind, sha;
    if (std::filesystem::path(*model_path).extension() == ".pt") {
      LoadedTorchScript ts = load_torchscript(*model_path);
      model = ts.model;
      classes = ts.classes;
      image_size = ts.image_size;
      kind = "TorchScript";
      std::string bytes = read_file(*model_path);
      sha = Sha256::of(bytes.data(), bytes.size());
    } else {
      ModelBlob blob = read_model_file(*model_path);
      model = model_from_blob(blob);
      classes = int(blob.manifest.classes());
      image_size = int(blob.manifest.image_size());
      kind = blob.manifest.model();
      sha = blob.manifest.sha256();
    }
    TrainHeldOut data =
        make_data_source(load_data_source_config(*data_path))->load(classes, image_size);
    ImageSet everything;
    if (*all) {
      everything.image_size = data.held_out.image_size;
      for (const ImageSet* part : {&data.train, &data.held_out}) {
        for (std::size_t i = 0; i < part->count(); ++i) everything.append(*part, i);
      }
    }
    const std::string scope = *all ? "every image" : "held-out split";
    Evaluation e = evaluate(*model, *all ? everything : data.held_out, classes);
    const ClassificationMetrics& m = e.metrics;
    nlohmann::json out = {{"model", *model_path},
                          {"model_sha256", sha},
                          {"data", *data_path},
                          {"scope", scope},
                          {"images", m.count},
                          {"loss", e.loss},
                          {"accuracy", m.accuracy},
                          {"balanced_accuracy", m.balanced_accuracy},
                          {"macro_f1", m.macro_f1},
                          {"roc_auc", m.roc_auc},
                          {"sensitivity", m.sensitivity},
                          {"specificity", m.specificity},
                          {"confusion", m.confusion}};
    if (*json) {
      std::cout << out.dump() << "\n";  // NaN (undefined AUC) prints as null
      return;
    }
    std::cout << "model              " << *model_path << " (" << kind << ", sha256 "
              << sha.substr(0, 16) << "...)\n"
              << "data               " << *data_path << " " << scope << ", " << m.count
              << " images\n"
              << std::fixed << std::setprecision(4) << "loss               " << e.loss << "\n"
              << "accuracy           " << m.accuracy << "\n"
              << "balanced accuracy  " << m.balanced_accuracy << "\n"
              << "macro F1           " << m.macro_f1 << "\n"
              << "ROC AUC            " << m.roc_auc
              << (classes > 2 ? " (macro one-vs-rest)" : "") << "\n"
              << "per class          sensitivity  specificity\n";
    for (int c = 0; c < classes; ++c) {
      std::cout << "  class " << std::setw(3) << c << "        " << std::setw(11)
                << m.sensitivity[std::size_t(c)] << "  " << std::setw(11)
                << m.specificity[std::size_t(c)] << "\n";
    }
    std::cout << "confusion (rows: true class, columns: predicted)\n";
    for (const auto& row : m.confusion) {
      for (auto v : row) std::cout << std::setw(7) << v;
      std::cout << "\n";
    }
  });
}

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "Write a model file (.fxm) as TorchScript (.pt) for Python's torch.jit.load");
  auto model_path = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  cmd->add_option("--model", *model_path, "model file (.fxm)")->required();
  cmd->add_option("--out", *out, "TorchScript file to write (.pt)")->required();
  cmd->callback([=] {
    export_torchscript(read_model_file(*model_path), *out);
    std::cout << "wrote " << *out << " (load in Python with torch.jit.load)\n";
  });
}

}  // namespace fedxray
