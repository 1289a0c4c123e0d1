#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/initial_model.h"
#include "common/atomic_file.h"
#include "common/model_file.h"
#include "common/provisioning.h"
#include "common/simulation_config.h"
#include "common/tls.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/fedavg_strategy.h"
#include "coordinator/job_runner.h"
#include "models/model_registry.h"
#include "models/model_weights.h"
#include "models/torchscript_model.h"
#include "site-agent/data_source.h"
#include "site-agent/dataset_partition.h"
#include "site-agent/local_training.h"
#include "site-agent/site_agent.h"
#include "site-agent/synthetic_radiographs.h"
#include "common/site_config.h"
#include "site-agent/torch_trainer.h"

namespace fedxray {
namespace fs = std::filesystem;
namespace {

struct SimulatedSite {
  std::string name;
  TrainHeldOut data;
  double intensity_shift = 0;
};

std::vector<SimulatedSite> make_sites(const SimulationFile& config) {
  const SimulationConfig& sim = config.simulation;
  if (!sim.site_data.empty()) {  // one real institution per site, each with its own split
    std::vector<SimulatedSite> sites;
    for (std::size_t i = 0; i < sim.site_data.size(); ++i) {
      SimulatedSite s;
      s.name = "site-" + std::to_string(i + 1);
      s.data = make_data_source(sim.site_data[i])->load(config.job.classes, config.job.image_size);
      sites.push_back(std::move(s));
    }
    return sites;
  }
  DataSourceConfig source = sim.data;
  if (source.source == "synthetic") {
    source.images = sim.sites * sim.images_per_site;
    source.seed = sim.seed;
    source.intensity_shift = 0.0;
  }
  ImagePool pool = make_data_source(source)->load_pool(config.job.classes, config.job.image_size);
  std::vector<ImagePool> parts =
      partition_by_patient(pool, sim.sites, sim.partition, sim.dirichlet_alpha, sim.seed);
  std::vector<SimulatedSite> sites;
  for (int i = 0; i < sim.sites; ++i) {
    SimulatedSite s;
    s.name = "site-" + std::to_string(i + 1);
    s.intensity_shift =
        sim.sites > 1 ? sim.intensity_shift * (2.0 * i / (sim.sites - 1) - 1.0) + 0.0 : 0.0;
    ImagePool& part = parts[std::size_t(i)];
    if (s.intensity_shift == 0.0) s.intensity_shift = 0.0;  // no "-0.00" in the table
    shift_intensity(part.images, s.intensity_shift);
    s.data = split_held_out_by_group(part.images, part.patients, sim.held_out_fraction,
                                     sim.seed + uint64_t(i) + 1);
    sites.push_back(std::move(s));
  }
  return sites;
}

std::string progress_line(const JobProgress& p, double elapsed) {
  std::ostringstream line;
  line << "round " << p.round << "/" << p.rounds << "  reported " << p.reported << "/"
       << p.selected << "  failed " << p.failed << "  elapsed " << std::fixed
       << std::setprecision(1) << elapsed << " s";
  return line.str();
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
  cmd->add_option("--config", *config_path, "YAML with `job:` and `simulation:` sections")->capture_default_str();
  cmd->add_option("--sites", *sites_override, "override simulation.sites");
  cmd->add_option("--data", *data_path,
                  "override simulation.data: a site YAML (its site.data) or a YAML with a "
                  "top-level data: section");
  cmd->add_option("--workdir", *workdir, "folder for the throw-away consortium (default: a temp folder)");
  cmd->add_option("--json", *json_out,
                  "also write the final table as JSON to this file; '-' prints it as the last line");
  cmd->add_flag("--keep", *keep, "keep the work folder (certificates, checkpoints, metrics)");
  cmd->callback([=] {
    const auto started = std::chrono::steady_clock::now();
    SimulationFile config = load_simulation_file(*config_path);
    if (*sites_override > 0) {
      config.simulation.sites = *sites_override;
      config.job.sites_per_round = std::min(config.job.sites_per_round, *sites_override);
      config.job.min_sites = std::min(config.job.min_sites, config.job.sites_per_round);
    }
    if (!data_path->empty()) config.simulation.data = load_data_source_config(*data_path);
    const SimulationConfig& sim = config.simulation;
    std::string dir = *workdir;
    if (dir.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "fedxray-sim-XXXXXX").string();
      if (!::mkdtemp(tmpl.data())) throw Error("cannot create a temp folder in /tmp");
      dir = tmpl;
    }
    fs::create_directories(dir);
    torch::set_num_threads(1);  // sites train side by side; one intra-op thread each

    ConsortiumConfig consortium;
    consortium.name = "simulation";
    consortium.coordinator_hosts = {"127.0.0.1", "localhost"};
    consortium.coordinator_port = 0;
    std::vector<SimulatedSite> sites = make_sites(config);
    for (const auto& s : sites) consortium.sites.push_back(s.name);
    provision_consortium(consortium, dir + "/kits", false);
    auto kit = [&](const std::string& name) {
      return TlsFiles{dir + "/kits/" + name + "/" + name + ".crt",
                      dir + "/kits/" + name + "/" + name + ".key", dir + "/kits/" + name + "/ca.crt"};
    };

    std::cout << "fedxray simulate: " << sim.sites << " sites on 127.0.0.1 with mutual TLS, "
              << config.job.model << ", " << config.job.rounds << " rounds, " << sim.partition
              << " partition by patient of "
              << (sim.data.source == "synthetic"
                      ? std::to_string(sim.images_per_site) + " synthetic radiographs per site"
                      : "the images of " + (sim.data.source == "npz" ? sim.data.file : sim.data.manifest))
              << "\n"
              << "work folder: " << dir << "\n";

    CoordinatorOptions options;
    options.state_dir = dir + "/state";
    options.allowed_sites = consortium.sites;
    options.heartbeat_timeout_s = 30;
    CheckpointStore store(options.state_dir, config.job.name);
    ModelBlob initial = make_initial_model(config.job);
    JobRunner runner(config.job, options, initial,
                     std::make_unique<FedAvgStrategy>(config.job.seed, store.journal_dir()));
    CoordinatorServer server(runner, "127.0.0.1:0",
                             make_server_credentials(kit(consortium.coordinator_name)));
    const std::string target = "127.0.0.1:" + std::to_string(server.port());

    std::vector<std::unique_ptr<TorchTrainer>> trainers;
    std::vector<std::unique_ptr<SiteAgent>> agents;
    for (const auto& s : sites) {
      trainers.push_back(std::make_unique<TorchTrainer>(std::make_shared<InMemoryDataSource>(s.data)));
      agents.push_back(std::make_unique<SiteAgent>(dial(target, kit(s.name)),
                                                   SiteAgentOptions{s.name, 60}, *trainers.back()));
    }
    spdlog::set_level(spdlog::level::warn);  // the progress line replaces per-event logs
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < agents.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          agents[i]->run();
        } catch (const std::exception& e) {
          spdlog::error("site {} stopped: {}", sites[i].name, e.what());
        }
      });
    }
    bool ok = false;
    std::thread coordinator([&] { ok = runner.run(); });
    const bool tty = ::isatty(STDOUT_FILENO);
    std::string last;
    for (;;) {
      JobProgress p = runner.progress();
      double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::string line = progress_line(p, elapsed);
      if (tty) {
        std::cout << "\r" << line << "   " << std::flush;
      } else if (line.substr(0, line.find("elapsed")) != last.substr(0, last.find("elapsed"))) {
        std::cout << line << "\n" << std::flush;
      }
      last = line;
      if (p.finished) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    coordinator.join();
    for (auto& t : threads) t.join();
    server.shutdown();
    if (tty) std::cout << "\n";
    spdlog::set_level(spdlog::level::info);
    if (!ok) {
      throw CommandFailed(1, "simulation failed: " + runner.progress().message + "; metrics in " +
                                 store.metrics_path());
    }

    // The verdict, on each site's own held-out images: the pooled model, the same model trained
    // on that site alone, and (only a simulation can compute it) on the union of all sites.
    ModelBlob pooled_blob = read_model_file(store.pooled_path());
    auto pooled = model_from_blob(pooled_blob);
    export_torchscript(pooled_blob, store.dir() + "/pooled.pt");
    TrainingOptions o;
    o.epochs = config.job.rounds * config.job.local_epochs;
    o.batch_size = config.job.batch_size;
    o.optimizer = config.job.optimizer;
    o.learning_rate = config.job.learning_rate;
    o.momentum = config.job.momentum;
    o.augmentation.enabled = config.job.augment;
    const std::size_t n = sites.size();
    std::vector<Evaluation> local_eval(n), pooled_eval(n), central_eval(n);
    std::vector<std::shared_ptr<ImageClassifier>> local_models(n);
    std::vector<std::thread> baselines;
    for (std::size_t i = 0; i < n; ++i) {
      pooled_eval[i] = evaluate(*pooled, sites[i].data.held_out, config.job.classes);
      baselines.emplace_back([&, i] {
        local_models[i] = model_from_blob(initial);
        TrainingOptions site_options = o;
        site_options.seed = config.job.seed + i;
        train_epochs(*local_models[i], sites[i].data.train, site_options);
        local_eval[i] = evaluate(*local_models[i], sites[i].data.held_out, config.job.classes);
      });
    }
    baselines.emplace_back([&] {
      ImageSet all = sites[0].data.train;
      for (std::size_t i = 1; i < n; ++i) {
        for (std::size_t k = 0; k < sites[i].data.train.count(); ++k) all.append(sites[i].data.train, k);
      }
      auto central = model_from_blob(initial);
      train_epochs(*central, all, o);
      for (std::size_t i = 0; i < n; ++i) {
        central_eval[i] = evaluate(*central, sites[i].data.held_out, config.job.classes);
      }
    });
    for (auto& t : baselines) t.join();

    nlohmann::json table = nlohmann::json::array();
    std::cout << "\n" << std::string(34, ' ') << "accuracy" << std::string(20, ' ') << "ROC AUC\n"
              << std::left << std::setw(9) << "site" << std::right << std::setw(6) << "train"
              << std::setw(6) << "held" << std::setw(7) << "shift" << std::setw(8) << "local"
              << std::setw(8) << "pooled" << std::setw(9) << "central" << std::setw(8) << "local"
              << std::setw(8) << "pooled" << std::setw(9) << "central" << "\n";
    auto metric_json = [](const Evaluation& e) {
      return nlohmann::json{{"accuracy", e.metrics.accuracy},
                            {"balanced_accuracy", e.metrics.balanced_accuracy},
                            {"macro_f1", e.metrics.macro_f1},
                            {"roc_auc", e.metrics.roc_auc},
                            {"loss", e.loss}};
    };
    for (std::size_t i = 0; i < n; ++i) {
      std::cout << std::left << std::setw(9) << sites[i].name << std::right << std::setw(6)
                << sites[i].data.train.count() << std::setw(6) << sites[i].data.held_out.count()
                << std::setw(7) << std::showpos << std::fixed << std::setprecision(2)
                << sites[i].intensity_shift << std::noshowpos << std::setprecision(3)
                << std::setw(8) << local_eval[i].metrics.accuracy << std::setw(8)
                << pooled_eval[i].metrics.accuracy << std::setw(9)
                << central_eval[i].metrics.accuracy << std::setw(8)
                << local_eval[i].metrics.roc_auc << std::setw(8) << pooled_eval[i].metrics.roc_auc
                << std::setw(9) << central_eval[i].metrics.roc_auc << "\n";
      table.push_back({{"site", sites[i].name},
                       {"train_images", sites[i].data.train.count()},
                       {"held_out_images", sites[i].data.held_out.count()},
                       {"intensity_shift", sites[i].intensity_shift},
                       {"local_only", metric_json(local_eval[i])},
                       {"pooled", metric_json(pooled_eval[i])},
                       {"centralised", metric_json(central_eval[i])}});
    }
    // Cross-site: how each site's own model does on every site's held-out images.
    nlohmann::json cross = nlohmann::json::array();
    std::cout << "\ncross-site ROC AUC (rows: model trained at; columns: evaluated at)\n"
              << std::left << std::setw(10) << "";
    for (const auto& site : sites) std::cout << std::right << std::setw(9) << site.name;
    std::cout << std::setw(9) << "" << "\n";
    for (std::size_t i = 0; i < n; ++i) {
      std::cout << std::left << std::setw(10) << sites[i].name << std::right;
      nlohmann::json row = nlohmann::json::array();
      for (std::size_t j = 0; j < n; ++j) {
        const double auc = i == j ? local_eval[i].metrics.roc_auc
                                  : evaluate(*local_models[i], sites[j].data.held_out,
                                             config.job.classes).metrics.roc_auc;
        row.push_back(auc);
        std::cout << std::setw(9) << auc;
      }
      cross.push_back({{"trained_at", sites[i].name}, {"roc_auc", row}});
      std::cout << "\n";
    }
    std::cout << std::left << std::setw(10) << "pooled" << std::right;
    for (std::size_t j = 0; j < n; ++j) std::cout << std::setw(9) << pooled_eval[j].metrics.roc_auc;
    std::cout << "\n";
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "on each site's own held-out images. local = the same model trained for the same "
                 "epochs on that site's data alone;\ncentral = trained on all sites' training data "
                 "pooled in one place (a reference only a simulation can compute)\n"
              << "pooled model: " << store.pooled_path() << " and " << store.dir()
              << "/pooled.pt (TorchScript)\nmetrics: " << store.metrics_path()
              << "\ntotal time: " << std::setprecision(1) << total << " s\n";
    const nlohmann::json summary = {{"bench", "simulate"}, {"config", *config_path},
                                    {"sites", table}, {"cross_site", cross}, {"seconds", total}};
    if (!*keep && workdir->empty()) {
      fs::remove_all(dir);
      std::cout << "(work folder removed; pass --keep to keep it)\n";
    }
    if (*json_out == "-") {
      std::cout << summary.dump() << std::endl;
    } else if (!json_out->empty()) {
      write_file_atomically(*json_out, summary.dump(2) + "\n");
    }
  });
}

}  // namespace fedxray
