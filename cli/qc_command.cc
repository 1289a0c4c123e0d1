// fedxray qc: at a site, run a body-part / modality / projection classifier (a pooled model of a
// QC job) over the site's images and list, locally, those whose predicted class is not what the
// site expects (--expect) or not what their own label says. The list names files and stays at
// the site; the command prints counts only.
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
#include "models/model_weights.h"
#include "training/local_training.h"
#include "wire/model_file.h"

namespace fedxray {

void add_qc_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "qc", "List this site's images a QC classifier puts in another class (stays at the site)");
  auto model_path = std::make_shared<std::string>();
  auto data_path = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("image-qc.csv");
  auto expect = std::make_shared<std::string>();
  auto names = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--model", *model_path, "a QC classifier's pooled model (.fxm)")->required();
  cmd->add_option("--data", *data_path,
                  "an image_folder data source: a site YAML (its site.data) or a YAML with a "
                  "top-level data: section")
      ->required();
  cmd->add_option("--expect", *expect,
                  "the class every image should be (a name from --class-names or a number); "
                  "without it, images are checked against their own labels");
  cmd->add_option("--class-names", *names,
                  "the model's class names in order (default: the data source's class_names)")
      ->delimiter(',');
  cmd->add_option("--out", *out, "CSV of flagged images to write")->capture_default_str();
  cmd->add_flag("--json", *json, "print one JSON object (counts only) instead of text");
  cmd->callback([=] {
    const ModelBlob blob = read_model_file(*model_path);
    if (parse_label_task(blob.manifest.task()) != LabelTask::classification) {
      throw Error(*model_path + ": a QC model classifies whole images; this one is for " +
                  label_task_name(parse_label_task(blob.manifest.task())));
    }
    const int classes = int(blob.manifest.classes());
    const DataSourceConfig config = load_data_source_config(*data_path);
    if (config.source != "image_folder") {
      throw Error(*data_path + ": image QC lists files, so it needs an image_folder source");
    }
    std::vector<std::string> class_names = names->empty() ? config.class_names : *names;
    if (!class_names.empty() && int(class_names.size()) != classes) {
      throw Error("--class-names lists " + std::to_string(class_names.size()) +
                  " names but the model has " + std::to_string(classes) + " classes");
    }
    auto name_of = [&](int64_t c) {
      return c >= 0 && std::size_t(c) < class_names.size() ? class_names[std::size_t(c)]
                                                           : std::to_string(c);
    };
    int64_t expected = -1;
    if (!expect->empty()) {
      for (int c = 0; c < classes; ++c) {
        if (name_of(c) == *expect) expected = c;
      }
      if (expected < 0) {
        throw Error("--expect " + *expect + " is not one of the model's classes" +
                    (class_names.empty() ? " (0.." + std::to_string(classes - 1) +
                                               "; give --class-names to use names)"
                                         : ""));
      }
    }
    ImageFolderSource source(config);
    const ImagePool pool = source.load_pool(classes, int(blob.manifest.image_size()));
    auto model = model_from_blob(blob);
    const std::vector<float> p = predict(*model, pool.images, LabelTask::classification);
    TextTable list({"origin", "predicted", "probability", "expected"});
    std::vector<int64_t> predicted_count(std::size_t(classes), 0);
    int64_t flagged = 0;
    for (std::size_t i = 0; i < pool.images.count(); ++i) {
      const float* row = p.data() + i * std::size_t(classes);
      const auto predicted = int64_t(std::max_element(row, row + classes) - row);
      ++predicted_count[std::size_t(predicted)];
      const int64_t want = expected >= 0 ? expected : pool.images.labels[i];
      if (predicted == want) continue;
      ++flagged;
      list.add(
          {source.origins()[i], name_of(predicted), std::to_string(row[predicted]), name_of(want)});
    }
    std::ostringstream csv;
    list.print_csv(csv);
    write_file_atomically(*out, csv.str());
    nlohmann::json by_class = nlohmann::json::object();
    for (int c = 0; c < classes; ++c) by_class[name_of(c)] = predicted_count[std::size_t(c)];
    if (*json) {
      std::cout << nlohmann::json{{"images", pool.images.count()},
                                  {"flagged", flagged},
                                  {"predicted", by_class},
                                  {"list", *out}}
                       .dump()
                << "\n";
      return;
    }
    std::cout << "checked " << pool.images.count() << " images against "
              << (expected >= 0 ? "the expected class " + name_of(expected) : "their own labels")
              << "\n"
              << flagged << " flagged; the list is in " << *out
              << " (it names files: keep it at the site)\npredicted classes:";
    for (int c = 0; c < classes; ++c)
      std::cout << "  " << name_of(c) << " " << predicted_count[std::size_t(c)];
    std::cout << "\n";
  });
}

}  // namespace fedxray
