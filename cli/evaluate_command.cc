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
    LabelTask task = LabelTask::classification;
    std::string kind, sha;
    if (std::filesystem::path(*model_path).extension() == ".pt") {
      LoadedTorchScript ts = load_torchscript(*model_path);
      model = ts.model;
      classes = ts.classes;
      image_size = ts.image_size;
      task = ts.task;
      kind = "TorchScript";
      std::string bytes = read_file(*model_path);
      sha = Sha256::of(bytes.data(), bytes.size());
    } else {
      ModelBlob blob = read_model_file(*model_path);
      model = model_from_blob(blob);
      classes = int(blob.manifest.classes());
      image_size = int(blob.manifest.image_size());
      task = parse_label_task(blob.manifest.task());
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
    Evaluation e = evaluate(*model, *all ? everything : data.held_out, task, classes);
    const ClassificationMetrics& m = e.metrics;
    nlohmann::json out = {{"model", *model_path},
                          {"model_sha256", sha},
                          {"data", *data_path},
                          {"scope", scope},
                          {"task", label_task_name(task)},
                          {"images", m.count},
                          {"loss", e.loss},
                          {"accuracy", m.accuracy},
                          {"balanced_accuracy", m.balanced_accuracy},
                          {"macro_f1", m.macro_f1},
                          {"roc_auc", m.roc_auc},
                          {"sensitivity", m.sensitivity},
                          {"specificity", m.specificity},
                          {"confusion", m.confusion}};
    if (task == LabelTask::ordinal) {
      out["quadratic_weighted_kappa"] = m.quadratic_weighted_kappa;
      out["mean_absolute_error"] = m.mean_absolute_error;
      out["within_one_accuracy"] = m.within_one_accuracy;
    }
    if (task == LabelTask::segmentation) {
      out["dice"] = m.dice;
      out["iou"] = m.iou;
      out["hausdorff95_px"] = m.hausdorff95;
      out["mean_surface_distance_px"] = m.mean_surface_distance;
      out.erase("sensitivity");
      out.erase("specificity");
      out.erase("macro_f1");
      out.erase("roc_auc");
    }
    if (task == LabelTask::multilabel) {
      out["label_auc"] = m.label_auc;
      out["label_average_precision"] = m.label_average_precision;
      out["average_precision"] = m.average_precision;
      out.erase("confusion");
    }
    if (*json) {
      std::cout << out.dump() << "\n";  // NaN (undefined AUC) prints as null
      return;
    }
    std::cout << "model              " << *model_path << " (" << kind << ", sha256 "
              << sha.substr(0, 16) << "...)\n"
              << "data               " << *data_path << " " << scope << ", " << m.count
              << " images\n"
              << std::fixed << std::setprecision(4) << "loss               " << e.loss << "\n";
    if (task == LabelTask::segmentation) {
      std::cout << "Dice               " << m.dice << " (mean over images and foreground classes)\n"
                << "IoU                " << m.iou << "\n"
                << "Hausdorff 95%      " << m.hausdorff95 << " px\n"
                << "mean surface dist. " << m.mean_surface_distance << " px\n"
                << "pixel accuracy     " << m.accuracy << "\n"
                << "confusion (pixels; rows: true class, columns: predicted)\n";
      for (const auto& row : m.confusion) {
        for (auto v : row) std::cout << std::setw(10) << v;
        std::cout << "\n";
      }
      return;
    }
    std::cout << "accuracy           " << m.accuracy << "\n"
              << "balanced accuracy  " << m.balanced_accuracy << "\n"
              << "macro F1           " << m.macro_f1 << "\n"
              << "ROC AUC            " << m.roc_auc;
    const char* unit = task == LabelTask::multilabel ? "finding" : task == LabelTask::ordinal ? "grade" : "class";
    if (task == LabelTask::classification && classes > 2) std::cout << " (macro one-vs-rest)";
    if (task == LabelTask::ordinal) std::cout << " (mean over thresholds grade > k)";
    if (task == LabelTask::multilabel) std::cout << " (macro over findings)";
    std::cout << "\n";
    if (task == LabelTask::ordinal) {
      std::cout << "quadratic kappa    " << m.quadratic_weighted_kappa << "\n"
                << "mean abs. error    " << m.mean_absolute_error << " grades\n"
                << "within one grade   " << m.within_one_accuracy << "\n";
    }
    if (task == LabelTask::multilabel) {
      std::cout << "average precision  " << m.average_precision << " (macro over findings)\n";
    }
    std::cout << "per " << unit << std::string(std::size_t(11 - std::string(unit).size()), ' ')
              << "sensitivity  specificity"
              << (task == LabelTask::multilabel ? "      ROC AUC  avg. precision" : "") << "\n";
    for (int c = 0; c < classes; ++c) {
      std::cout << "  " << unit << " " << std::setw(3) << c
                << std::string(std::size_t(13 - std::string(unit).size()), ' ') << std::setw(11)
                << m.sensitivity[std::size_t(c)] << "  " << std::setw(11)
                << m.specificity[std::size_t(c)];
      if (task == LabelTask::multilabel) {
        std::cout << "  " << std::setw(11) << m.label_auc[std::size_t(c)] << "  " << std::setw(14)
                  << m.label_average_precision[std::size_t(c)];
      }
      std::cout << "\n";
    }
    if (task == LabelTask::multilabel) return;
    std::cout << "confusion (rows: true " << unit << ", columns: predicted)\n";
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
