// fedxray personalise: at a site, after a job, fine-tune the pooled model on the site's own
// training split and keep the result there (training/personalization.h).
#include <CLI/CLI.hpp>

#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cli/commands.h"
#include "config/site_config.h"
#include "data/data_source.h"
#include "models/model_weights.h"
#include "training/personalization.h"
#include "wire/model_file.h"

namespace fedxray {

void add_personalise_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "personalise", "Fine-tune a pooled model on this site's own data; the result stays here");
  auto model_path = std::make_shared<std::string>();
  auto data_path = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto options = std::make_shared<TrainingOptions>();
  auto personal = std::make_shared<PersonalizationOptions>();
  auto json = std::make_shared<bool>(false);
  options->optimizer = "adam";
  options->learning_rate = 0.001;
  cmd->add_option("--model", *model_path, "the pooled model (.fxm)")->required();
  cmd->add_option(
         "--data", *data_path,
         "data source: a site YAML (its site.data) or a YAML with a top-level data: section")
      ->required();
  cmd->add_option("--out", *out,
                  "personalised model to write (.fxm; `fedxray export` for TorchScript)")
      ->required();
  cmd->add_option("--epochs", personal->epochs, "epochs on the site's training split")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--head-only", personal->head_only, "train only the model's final layer");
  cmd->add_option("--optimizer", options->optimizer, "sgd or adam")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam"}));
  cmd->add_option("--learning-rate", options->learning_rate)->capture_default_str();
  cmd->add_option("--batch-size", options->batch_size)->capture_default_str();
  cmd->add_option("--seed", options->seed)->capture_default_str();
  cmd->add_flag("--json", *json, "print one JSON object instead of text");
  cmd->callback([=] {
    const ModelBlob pooled_blob = read_model_file(*model_path);
    const int classes = int(pooled_blob.manifest.classes());
    const int image_size = int(pooled_blob.manifest.image_size());
    const LabelTask task = parse_label_task(pooled_blob.manifest.task());
    const ModelSpec spec{pooled_blob.manifest.model(), classes, image_size, 0, task};
    TrainHeldOut data =
        make_data_source(load_data_source_config(*data_path))->load(classes, image_size);
    if (data.train.count() == 0) {
      throw Error(*data_path + ": no usable training images to personalise on");
    }
    auto pooled = model_from_blob(pooled_blob);
    auto mine = model_from_blob(pooled_blob);
    const Evaluation before = evaluate(*pooled, data.held_out, task, classes);
    TrainingOptions o = *options;
    o.classes = classes;
    o.task = task;
    personal->method = "finetune";
    personalise(*mine, *pooled, data.train, o, *personal);
    const Evaluation after = evaluate(*mine, data.held_out, task, classes);
    write_model_file(*out, export_weights(*mine, spec));
    auto metrics = [](const Evaluation& e) {
      return nlohmann::json{{"loss", e.loss},
                            {"accuracy", e.metrics.accuracy},
                            {"balanced_accuracy", e.metrics.balanced_accuracy},
                            {"roc_auc", e.metrics.roc_auc},
                            {"headline", e.metrics.headline()}};
    };
    if (*json) {
      std::cout << nlohmann::json{{"model", *model_path},
                                  {"personalised", *out},
                                  {"train_images", data.train.count()},
                                  {"held_out_images", data.held_out.count()},
                                  {"pooled", metrics(before)},
                                  {"personalised_metrics", metrics(after)}}
                       .dump()
                << "\n";
      return;
    }
    std::cout << "fine-tuned " << *model_path << " on " << data.train.count()
              << " training images (" << personal->epochs << " epochs"
              << (personal->head_only ? ", head only" : "") << "); wrote " << *out << "\n"
              << "held-out split, " << data.held_out.count() << " images:\n"
              << std::fixed << std::setprecision(4) << "                   pooled  personalised\n"
              << "accuracy           " << before.metrics.accuracy << "  " << after.metrics.accuracy
              << "\n"
              << "balanced accuracy  " << before.metrics.balanced_accuracy << "  "
              << after.metrics.balanced_accuracy << "\n"
              << "ROC AUC            " << before.metrics.roc_auc << "  " << after.metrics.roc_auc
              << "\n";
    if (task == LabelTask::ordinal) {
      std::cout << "quadratic kappa    " << before.metrics.quadratic_weighted_kappa << "  "
                << after.metrics.quadratic_weighted_kappa << "\n";
    }
  });
}

}  // namespace fedxray
