// fedxray audit-labels: at a site, list the images whose label looks wrong (confident learning
// on out-of-fold predictions of the pooled model fine-tuned on the other folds). The list, with
// file names, stays at the site; the command prints counts and where the list is.
#include <CLI/CLI.hpp>

#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "cli/commands.h"
#include "cli/text_table.h"
#include "config/site_config.h"
#include "data/image_folder_source.h"
#include "training/confident_learning.h"
#include "training/label_audit.h"
#include "wire/model_file.h"

namespace fedxray {

void add_audit_labels_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "audit-labels", "List this site's images whose label looks wrong (stays at the site)");
  auto model_path = std::make_shared<std::string>();
  auto data_path = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("label-audit.csv");
  auto folds = std::make_shared<int>(5);
  auto options = std::make_shared<TrainingOptions>();
  auto json = std::make_shared<bool>(false);
  options->optimizer = "adam";
  options->learning_rate = 0.001;
  options->epochs = 2;
  cmd->add_option("--model", *model_path, "the pooled model (.fxm) of a classification job")
      ->required();
  cmd->add_option("--data", *data_path,
                  "an image_folder data source: a site YAML (its site.data) or a YAML with a "
                  "top-level data: section")
      ->required();
  cmd->add_option("--out", *out, "CSV of suspected labels to write, most suspicious first")
      ->capture_default_str();
  cmd->add_option("--folds", *folds, "out-of-fold predictions over this many patient folds")
      ->capture_default_str()
      ->check(CLI::Range(2, 50));
  cmd->add_option("--epochs", options->epochs, "fine-tuning epochs on the other folds (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--learning-rate", options->learning_rate)->capture_default_str();
  cmd->add_option("--seed", options->seed)->capture_default_str();
  cmd->add_flag("--json", *json, "print one JSON object (counts only) instead of text");
  cmd->callback([=] {
    const ModelBlob pooled = read_model_file(*model_path);
    const int classes = int(pooled.manifest.classes());
    const DataSourceConfig config = load_data_source_config(*data_path);
    if (config.source != "image_folder") {
      throw Error(*data_path + ": a label audit lists files, so it needs an image_folder source");
    }
    ImageFolderSource source(config);
    const ImagePool pool = source.load_pool(classes, int(pooled.manifest.image_size()));
    options->classes = classes;
    const std::vector<float> p = out_of_fold_probabilities(pooled, pool, *folds, *options);
    const LabelIssues issues = find_label_issues(p, pool.images.labels, classes);
    TextTable list({"rank", "origin", "given", "suspected", "p_given", "p_suspected"});
    std::vector<std::vector<int64_t>> counts(std::size_t(classes),
                                             std::vector<int64_t>(std::size_t(classes), 0));
    for (std::size_t r = 0; r < issues.suspects.size(); ++r) {
      const SuspectedLabel& s = issues.suspects[r];
      list.add({std::to_string(r + 1), source.origins()[s.image], std::to_string(s.given),
                std::to_string(s.suspected), std::to_string(s.given_probability),
                std::to_string(s.suspected_probability)});
      ++counts[std::size_t(s.given)][std::size_t(s.suspected)];
    }
    std::ostringstream csv;
    list.print_csv(csv);
    write_file_atomically(*out, csv.str());
    if (*json) {
      std::cout << nlohmann::json{{"images", pool.images.count()},
                                  {"suspected", issues.suspects.size()},
                                  {"suspected_by_given_and_class", counts},
                                  {"thresholds", issues.thresholds},
                                  {"list", *out}}
                       .dump()
                << "\n";
      return;
    }
    std::cout << "audited " << pool.images.count() << " images (" << *folds
              << " patient folds, the pooled model fine-tuned " << options->epochs
              << " epochs on the other folds)\n"
              << issues.suspects.size() << " labels look wrong; the ranked list is in " << *out
              << " (it names files: keep it at the site)\n"
              << "suspected (rows: given label, columns: suspected true label)\n";
    for (const auto& row : counts) {
      for (auto v : row) std::cout << std::setw(7) << v;
      std::cout << "\n";
    }
  });
}

}  // namespace fedxray
