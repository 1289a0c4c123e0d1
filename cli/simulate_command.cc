#include <CLI/CLI.hpp>
#include <unistd.h>

#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "config/simulation_config.h"
#include "config/site_config.h"
#include "simulation/federation_simulation.h"

namespace fedxray {
namespace fs = std::filesystem;
namespace {

std::string progress_line(const JobProgress& p, double elapsed) {
  std::ostringstream line;
  line << "round " << p.round << "/" << p.rounds << "  reported " << p.reported << "/"
       << p.selected << "  failed " << p.failed << "  elapsed " << std::fixed
       << std::setprecision(1) << elapsed << " s";
  return line.str();
}

nlohmann::json metric_json(const Evaluation& e) {
  nlohmann::json out{{"accuracy", e.metrics.accuracy},
                     {"balanced_accuracy", e.metrics.balanced_accuracy},
                     {"macro_f1", e.metrics.macro_f1},
                     {"roc_auc", e.metrics.roc_auc},
                     {"loss", e.loss}};
  if (e.metrics.task == LabelTask::ordinal) {
    out["quadratic_weighted_kappa"] = e.metrics.quadratic_weighted_kappa;
    out["mean_absolute_error"] = e.metrics.mean_absolute_error;
    out["within_one_accuracy"] = e.metrics.within_one_accuracy;
  }
  if (e.metrics.task == LabelTask::segmentation) {
    out["dice"] = e.metrics.dice;
    out["iou"] = e.metrics.iou;
    out["hausdorff95_px"] = e.metrics.hausdorff95;
    out["mean_surface_distance_px"] = e.metrics.mean_surface_distance;
  }
  if (e.metrics.task == LabelTask::multilabel) {
    out["label_auc"] = e.metrics.label_auc;
    out["label_average_precision"] = e.metrics.label_average_precision;
    out["average_precision"] = e.metrics.average_precision;
  }
  return out;
}

// The federation's best model for a site: its personalised model if it has one that scores
// higher, else the pooled model. Returns its headline metric (ROC AUC, QWK for ordinal jobs)
// and what it is.
std::pair<double, const char*> federation_auc(const SimulatedSiteResult& s) {
  if (s.has_personalised && !(s.personalised.metrics.headline() <= s.pooled.metrics.headline())) {
    return {s.personalised.metrics.headline(), "personalised"};
  }
  return {s.pooled.metrics.headline(), "pooled"};
}

// Per site: did the federation's model (pooled or personalised) beat the same epochs alone?
void print_site_verdicts(const SimulationResult& r) {
  std::cout << "\ndid joining pay off? " << headline_metric_name(r.task)
            << " on each site's own held-out images\n"
            << std::left << std::setw(10) << "site" << std::right << std::setw(8) << "local"
            << std::setw(8) << "pooled" << std::setw(10) << "personal" << "  verdict\n";
  for (const auto& s : r.sites) {
    const auto [best, which] = federation_auc(s);
    const double gap = best - s.local_only.metrics.headline();
    std::cout << std::left << std::setw(10) << s.name << std::right << std::fixed
              << std::setprecision(3) << std::setw(8) << s.local_only.metrics.headline()
              << std::setw(8) << s.pooled.metrics.headline();
    if (s.has_personalised) {
      std::cout << std::setw(10) << s.personalised.metrics.headline();
    } else {
      std::cout << std::setw(10) << "-";
    }
    if (std::isnan(gap)) {
      std::cout << "  undefined (held-out images of one class only)\n";
    } else {
      std::cout << "  " << (gap >= 0 ? "yes: " : "no: ") << which << " " << std::showpos << gap
                << std::noshowpos << " vs working alone\n";
    }
  }
}

// Multi-label jobs: each finding's ROC AUC. local = the mean over sites of each site's own model
// on its own held-out images (sites where the finding's AUC is defined).
void print_finding_table(const SimulationResult& r) {
  const std::size_t findings = r.pooled_on_union.metrics.label_auc.size();
  std::cout << "\nper-finding ROC AUC (pooled and central on all held-out images; local: mean "
               "over sites on their own)\n"
            << std::left << std::setw(20) << "finding" << std::right << std::setw(8) << "local"
            << std::setw(8) << "pooled" << std::setw(9) << "central" << std::setw(11)
            << "positives" << "\n";
  for (std::size_t k = 0; k < findings; ++k) {
    double local = 0;
    int defined = 0;
    for (const auto& s : r.sites) {
      const double auc = s.local_only.metrics.label_auc[k];
      if (!std::isnan(auc)) local += auc, ++defined;
    }
    const std::string name = k < r.label_names.size() ? r.label_names[k] : std::to_string(k);
    std::cout << std::left << std::setw(20) << name << std::right << std::fixed
              << std::setprecision(3) << std::setw(8)
              << (defined ? local / defined : std::nan("")) << std::setw(8)
              << r.pooled_on_union.metrics.label_auc[k] << std::setw(9)
              << r.centralised_on_union.metrics.label_auc[k] << std::setw(11)
              << r.held_out_positives[k] << "\n";
  }
}

void print_tables(const SimulationResult& r) {
  const std::size_t n = r.sites.size();
  std::cout << "\n" << std::string(34, ' ') << "accuracy" << std::string(20, ' ')
            << headline_metric_name(r.task) << "\n"
            << std::left << std::setw(9) << "site" << std::right << std::setw(6) << "train"
            << std::setw(6) << "held" << std::setw(7) << "shift" << std::setw(8) << "local"
            << std::setw(8) << "pooled" << std::setw(9) << "central" << std::setw(8) << "local"
            << std::setw(8) << "pooled" << std::setw(9) << "central" << "\n";
  auto row = [](const std::string& name, std::size_t train, std::size_t held, double shift,
                const Evaluation* local, const Evaluation& pooled, const Evaluation& central) {
    std::cout << std::left << std::setw(9) << name << std::right << std::setw(6) << train
              << std::setw(6) << held << std::setw(7) << std::showpos << std::fixed
              << std::setprecision(2) << shift << std::noshowpos << std::setprecision(3);
    if (local) std::cout << std::setw(8) << local->metrics.accuracy; else std::cout << std::setw(8) << "-";
    std::cout << std::setw(8) << pooled.metrics.accuracy << std::setw(9) << central.metrics.accuracy;
    if (local) std::cout << std::setw(8) << local->metrics.headline(); else std::cout << std::setw(8) << "-";
    std::cout << std::setw(8) << pooled.metrics.headline() << std::setw(9) << central.metrics.headline()
              << "\n";
  };
  std::size_t train = 0, held = 0;
  for (const auto& s : r.sites) {
    row(s.name, s.train_images, s.held_out_images, s.intensity_shift, &s.local_only, s.pooled,
        s.centralised);
    train += s.train_images;
    held += s.held_out_images;
  }
  row("all", train, held, 0.0, nullptr, r.pooled_on_union, r.centralised_on_union);
  std::cout << "\ncross-site " << headline_metric_name(r.task) << " (rows: model trained at; columns: evaluated at)\n"
            << std::left << std::setw(10) << "";
  for (const auto& s : r.sites) std::cout << std::right << std::setw(9) << s.name;
  std::cout << "\n";
  for (std::size_t i = 0; i < n; ++i) {
    std::cout << std::left << std::setw(10) << r.sites[i].name << std::right;
    for (std::size_t j = 0; j < n; ++j) std::cout << std::setw(9) << r.cross_site[i][j];
    std::cout << "\n";
  }
  std::cout << std::left << std::setw(10) << "pooled" << std::right;
  for (const auto& s : r.sites) std::cout << std::setw(9) << s.pooled.metrics.headline();
  std::cout << "\non each site's own held-out images (all = the union of them). local = the same "
               "model trained for the same\nepochs on that site's data alone; central = trained "
               "on all sites' training data pooled in one place\n(a reference only a simulation "
               "can compute)\n";
  if (r.task == LabelTask::multilabel) print_finding_table(r);
  print_site_verdicts(r);
}

nlohmann::json result_json(const SimulationResult& r, uint64_t seed) {
  nlohmann::json table = nlohmann::json::array();
  for (const auto& s : r.sites) {
    nlohmann::json site = {{"site", s.name},
                           {"train_images", s.train_images},
                           {"held_out_images", s.held_out_images},
                           {"intensity_shift", s.intensity_shift},
                           {"local_only", metric_json(s.local_only)},
                           {"pooled", metric_json(s.pooled)},
                           {"centralised", metric_json(s.centralised)}};
    if (s.has_personalised) site["personalised"] = metric_json(s.personalised);
    const auto [best, which] = federation_auc(s);
    site["federation_model"] = which;
    site["federation_beats_local"] = best >= s.local_only.metrics.headline();
    table.push_back(site);
  }
  nlohmann::json cross = nlohmann::json::array();
  for (std::size_t i = 0; i < r.sites.size(); ++i) {
    cross.push_back({{"trained_at", r.sites[i].name}, {"score", r.cross_site[i]}});
  }
  return {{"seed", seed},
          {"task", label_task_name(r.task)},
          {"metric", headline_metric_name(r.task)},
          {"federation_seconds", r.federation_seconds},
          {"round_seconds", r.rounds > 0 ? r.federation_seconds / r.rounds : 0.0},
          {"bytes_per_round", r.bytes_per_round},
          {"sites", table},
          {"cross_site", cross},
          {"all_held_out", {{"pooled", metric_json(r.pooled_on_union)},
                            {"centralised", metric_json(r.centralised_on_union)}}}};
}

struct MeanSd {
  double mean = 0, sd = 0;
};
MeanSd mean_sd(const std::vector<double>& v) {
  MeanSd m;
  for (double x : v) m.mean += x / double(v.size());
  for (double x : v) m.sd += (x - m.mean) * (x - m.mean);
  m.sd = v.size() > 1 ? std::sqrt(m.sd / double(v.size() - 1)) : 0.0;
  return m;
}

// The verdict over repeated runs: each run draws a new partition, split and training order, so
// one lucky or unlucky held-out split (a site may hold out only a few dozen images) does not
// decide it.
nlohmann::json print_verdict(const std::vector<SimulationResult>& runs) {
  const std::string metric = headline_metric_name(runs.empty() ? LabelTask::classification : runs[0].task);
  std::vector<double> pooled, central, ratio, worst_gap;
  int pooled_ge_local_everywhere = 0, site_runs = 0, site_wins = 0, unmeasurable = 0;
  int federation_wins = 0;
  std::vector<double> federation_gap;
  for (const auto& r : runs) {
    pooled.push_back(r.pooled_on_union.metrics.headline());
    central.push_back(r.centralised_on_union.metrics.headline());
    ratio.push_back(r.pooled_on_union.metrics.headline() / r.centralised_on_union.metrics.headline());
    double worst = 1.0;
    for (const auto& s : r.sites) {
      const double gap = s.pooled.metrics.headline() - s.local_only.metrics.headline();
      if (std::isnan(gap)) {  // held-out images of one class only: AUC is undefined there
        ++unmeasurable;
        continue;
      }
      worst = std::min(worst, gap);
      ++site_runs;
      if (gap >= 0) ++site_wins;
      const double best_gap = federation_auc(s).first - s.local_only.metrics.headline();
      federation_gap.push_back(best_gap);
      if (best_gap >= 0) ++federation_wins;
    }
    worst_gap.push_back(worst);
    if (worst >= 0) ++pooled_ge_local_everywhere;
  }
  const MeanSd p = mean_sd(pooled), c = mean_sd(central), q = mean_sd(ratio), w = mean_sd(worst_gap);
  std::cout << std::fixed << std::setprecision(3) << "\nover " << runs.size()
            << " runs (new partition, split and seeds each), " << metric
            << " on the union of held-out images:\n  pooled " << p.mean << " +- " << p.sd << "   centralised " << c.mean
            << " +- " << c.sd << "   pooled/centralised " << q.mean << " +- " << q.sd << "\n"
            << "  pooled >= local-only on every site in " << pooled_ge_local_everywhere << " of "
            << runs.size() << " runs; on " << site_wins << " of " << site_runs
            << " (run, site) pairs; worst site's pooled - local " << metric << " " << w.mean << " +- " << w.sd
            << "\n";
  const bool personal = !runs.empty() && !runs[0].sites.empty() && runs[0].sites[0].has_personalised;
  if (personal) {
    const MeanSd f = mean_sd(federation_gap);
    std::cout << "  federation's model (pooled or personalised, whichever scores higher) >= "
                 "local-only on " << federation_wins << " of " << site_runs
              << " (run, site) pairs; its " << metric << " - local " << f.mean << " +- " << f.sd << "\n";
  }
  if (unmeasurable > 0) {
    std::cout << "  (" << unmeasurable << " (run, site) pairs not counted: that site's held-out "
              << "images are all of one class, so its " << metric << " is undefined)\n";
  }
  // The *_auc keys hold the job's headline metric, named by "metric" (QWK for ordinal jobs).
  return {{"runs", runs.size()},
          {"metric", metric},
          {"pooled_auc_mean", p.mean}, {"pooled_auc_sd", p.sd},
          {"centralised_auc_mean", c.mean}, {"centralised_auc_sd", c.sd},
          {"pooled_over_centralised_mean", q.mean}, {"pooled_over_centralised_sd", q.sd},
          {"runs_pooled_ge_local_every_site", pooled_ge_local_everywhere},
          {"site_runs_pooled_ge_local", site_wins}, {"site_runs", site_runs},
          {"site_runs_auc_undefined", unmeasurable},
          {"site_runs_federation_ge_local", federation_wins},
          {"worst_site_gap_mean", w.mean}, {"worst_site_gap_sd", w.sd}};
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "simulate", "Run a whole federation on this machine (coordinator + sites over loopback mTLS)");
  auto config_path = std::make_shared<std::string>("configs/quickstart.yaml");
  auto workdir = std::make_shared<std::string>();
  auto sites_override = std::make_shared<int>(0);
  auto data_path = std::make_shared<std::string>();
  auto json_out = std::make_shared<std::string>();
  auto keep = std::make_shared<bool>(false);
  auto runs = std::make_shared<int>(1);
  cmd->add_option("--config", *config_path, "YAML with `job:` and `simulation:` sections")->capture_default_str();
  cmd->add_option("--sites", *sites_override, "override simulation.sites");
  cmd->add_option("--data", *data_path,
                  "override simulation.data: a site YAML (its site.data) or a YAML with a "
                  "top-level data: section");
  cmd->add_option("--workdir", *workdir, "folder for the throw-away consortium (default: a temp folder)");
  cmd->add_option("--json", *json_out,
                  "also write the final table as JSON to this file; '-' prints it as the last line");
  cmd->add_flag("--keep", *keep, "keep the work folder (certificates, checkpoints, metrics)");
  cmd->add_option("--runs", *runs,
                  "repeat the whole federation this many times, each with the next seed "
                  "(simulation.seed and job.seed + k), and print the verdict over all runs")
      ->check(CLI::Range(1, 1000));
  cmd->callback([=] {
    const auto started = std::chrono::steady_clock::now();
    SimulationFile base = load_simulation_file(*config_path);
    if (*sites_override > 0) {
      base.simulation.sites = *sites_override;
      base.job.sites_per_round = std::min(base.job.sites_per_round, *sites_override);
      base.job.min_sites = std::min(base.job.min_sites, base.job.sites_per_round);
    }
    if (!data_path->empty()) base.simulation.data = load_data_source_config(*data_path);
    const SimulationConfig& sim = base.simulation;
    at::set_num_threads(1);  // sites train side by side; one intra-op thread each
    std::cout << "fedxray simulate: " << sim.sites << " sites on 127.0.0.1 with mutual TLS, "
              << base.job.model << ", " << base.job.rounds << " rounds, " << sim.partition
              << " partition by patient of "
              << (sim.data.source == "synthetic"
                      ? std::to_string(sim.images_per_site) + " synthetic radiographs per site"
                      : "the images of " + (sim.data.source == "npz" ? sim.data.file : sim.data.manifest))
              << (*runs > 1 ? ", " + std::to_string(*runs) + " runs" : std::string()) << "\n";
    const bool tty = ::isatty(STDOUT_FILENO);
    std::vector<SimulationResult> results;
    nlohmann::json run_json = nlohmann::json::array();
    for (int k = 0; k < *runs; ++k) {
      SimulationFile config = base;
      config.simulation.seed += uint64_t(k);
      config.job.seed += uint64_t(k);
      std::string dir = *workdir;
      if (*runs > 1 && !dir.empty()) dir += "/run-" + std::to_string(k + 1);
      const bool temp = dir.empty();
      if (temp) {
        std::string tmpl = (fs::temp_directory_path() / "fedxray-sim-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw Error("cannot create a temp folder in /tmp");
        dir = tmpl;
      }
      if (*runs > 1) std::cout << "\nrun " << k + 1 << " of " << *runs << ", seed " << config.simulation.seed << "\n";
      std::cout << "work folder: " << dir << "\n";
      spdlog::set_level(spdlog::level::warn);  // the progress line replaces per-event logs
      std::string last;
      auto show = [&](const JobProgress& p) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const std::string line = progress_line(p, elapsed);
        if (tty) {
          std::cout << "\r" << line << "   " << std::flush;
        } else if (line.substr(0, line.find("elapsed")) != last.substr(0, last.find("elapsed"))) {
          std::cout << line << "\n" << std::flush;
        }
        last = line;
      };
      SimulationResult result;
      try {
        result = run_federation_simulation(config, dir, show);
      } catch (const Error& e) {
        spdlog::set_level(spdlog::level::info);
        if (tty) std::cout << "\n";
        throw CommandFailed(1, e.what());
      }
      spdlog::set_level(spdlog::level::info);
      if (tty) std::cout << "\n";
      print_tables(result);
      if (temp && !*keep) {
        fs::remove_all(dir);
        std::cout << "(work folder removed; pass --keep to keep it)\n";
      } else {
        std::cout << "pooled model: " << result.pooled_model_path << " and "
                  << result.pooled_torchscript << " (TorchScript)\nmetrics: " << result.metrics_path
                  << "\n";
      }
      run_json.push_back(result_json(result, config.simulation.seed));
      results.push_back(std::move(result));
    }
    nlohmann::json summary = {{"bench", "simulate"}, {"config", *config_path}};
    if (*runs == 1) {
      summary.update(run_json[0]);
    } else {
      summary["runs"] = run_json;
      summary["verdict"] = print_verdict(results);
    }
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    summary["seconds"] = total;
    std::cout << "total time: " << std::fixed << std::setprecision(1) << total << " s\n";
    if (*json_out == "-") {
      std::cout << summary.dump() << std::endl;
    } else if (!json_out->empty()) {
      write_file_atomically(*json_out, summary.dump(2) + "\n");
    }
  });
}

}  // namespace fedxray
