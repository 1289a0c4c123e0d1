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
#include "site-agent/data_source.h"
#include "site-agent/dataset_partition.h"
#include "site-agent/local_training.h"
#include "site-agent/site_agent.h"
#include "site-agent/synthetic_radiographs.h"
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
  SyntheticSpec spec{sim.sites * sim.images_per_site, config.job.classes, config.job.image_size,
                     sim.seed, 0.0};
  ImageSet pool = generate_synthetic_radiographs(spec);
  std::vector<ImageSet> parts = sim.partition == "dirichlet"
                                    ? partition_dirichlet(pool, sim.sites, sim.dirichlet_alpha, sim.seed)
                                    : partition_iid(pool, sim.sites, sim.seed);
  std::vector<SimulatedSite> sites;
  for (int i = 0; i < sim.sites; ++i) {
    SimulatedSite s;
    s.name = "site-" + std::to_string(i + 1);
    s.intensity_shift =
        sim.sites > 1 ? sim.intensity_shift * (2.0 * i / (sim.sites - 1) - 1.0) : 0.0;
    shift_intensity(parts[std::size_t(i)], s.intensity_shift);
    s.data = split_held_out(parts[std::size_t(i)], sim.held_out_fraction, sim.seed + uint64_t(i) + 1);
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
  auto json_out = std::make_shared<std::string>();
  auto keep = std::make_shared<bool>(false);
  cmd->add_option("--config", *config_path, "YAML with `job:` and `simulation:` sections")->capture_default_str();
  cmd->add_option("--sites", *sites_override, "override simulation.sites");
  cmd->add_option("--workdir", *workdir, "folder for the throw-away consortium (default: a temp folder)");
  cmd->add_option("--json", *json_out, "also write the final table as JSON to this file");
  cmd->add_flag("--keep", *keep, "keep the work folder (certificates, checkpoints, metrics)");
  cmd->callback([=] {
    const auto started = std::chrono::steady_clock::now();
    SimulationFile config = load_simulation_file(*config_path);
    if (*sites_override > 0) {
      config.simulation.sites = *sites_override;
      config.job.sites_per_round = std::min(config.job.sites_per_round, *sites_override);
      config.job.min_sites = std::min(config.job.min_sites, config.job.sites_per_round);
    }
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
              << " partition of " << sim.images_per_site << " synthetic radiographs per site\n"
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

    // The verdict: pooled model vs what each site could train alone, on the site's held-out data.
    ModelBlob pooled_blob = read_model_file(store.pooled_path());
    auto pooled = model_from_blob(pooled_blob);
    std::vector<Evaluation> local_eval(sites.size()), pooled_eval(sites.size());
    std::vector<std::thread> baselines;
    for (std::size_t i = 0; i < sites.size(); ++i) {
      pooled_eval[i] = evaluate(*pooled, sites[i].data.held_out, config.job.classes);
      baselines.emplace_back([&, i] {
        auto local = model_from_blob(initial);
        TrainingOptions o;
        o.epochs = config.job.rounds * config.job.local_epochs;
        o.batch_size = config.job.batch_size;
        o.optimizer = config.job.optimizer;
        o.learning_rate = config.job.learning_rate;
        o.momentum = config.job.momentum;
        o.seed = config.job.seed + i;
        train_epochs(*local, sites[i].data.train, o);
        local_eval[i] = evaluate(*local, sites[i].data.held_out, config.job.classes);
      });
    }
    for (auto& t : baselines) t.join();

    nlohmann::json table = nlohmann::json::array();
    std::cout << "\n" << std::left << std::setw(10) << "site" << std::right << std::setw(8)
              << "train" << std::setw(10) << "held-out" << std::setw(9) << "shift"
              << std::setw(14) << "local-only" << std::setw(10) << "pooled" << std::setw(9)
              << "gain" << "\n";
    for (std::size_t i = 0; i < sites.size(); ++i) {
      const double gain = pooled_eval[i].metrics.accuracy - local_eval[i].metrics.accuracy;
      std::cout << std::left << std::setw(10) << sites[i].name << std::right << std::setw(8)
                << sites[i].data.train.count() << std::setw(10) << sites[i].data.held_out.count()
                << std::setw(9) << std::showpos << std::fixed << std::setprecision(2)
                << sites[i].intensity_shift << std::noshowpos << std::setw(14)
                << std::setprecision(3) << local_eval[i].metrics.accuracy << std::setw(10)
                << pooled_eval[i].metrics.accuracy << std::setw(9) << std::showpos << gain
                << std::noshowpos << "\n";
      table.push_back({{"site", sites[i].name},
                       {"train_images", sites[i].data.train.count()},
                       {"held_out_images", sites[i].data.held_out.count()},
                       {"intensity_shift", sites[i].intensity_shift},
                       {"local_only_accuracy", local_eval[i].metrics.accuracy},
                       {"pooled_accuracy", pooled_eval[i].metrics.accuracy},
                       {"local_only_balanced_accuracy", local_eval[i].metrics.balanced_accuracy},
                       {"pooled_balanced_accuracy", pooled_eval[i].metrics.balanced_accuracy},
                       {"local_only_auc", local_eval[i].metrics.roc_auc},
                       {"pooled_auc", pooled_eval[i].metrics.roc_auc},
                       {"local_only_loss", local_eval[i].loss},
                       {"pooled_loss", pooled_eval[i].loss}});
    }
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "accuracy on each site's own held-out images; local-only = the same model trained "
                 "for the same epochs on that site's data alone\n"
              << "pooled model: " << store.pooled_path() << "\nmetrics: " << store.metrics_path()
              << "\ntotal time: " << std::setprecision(1) << total << " s\n";
    if (!json_out->empty()) {
      write_file_atomically(*json_out, nlohmann::json{{"sites", table}, {"seconds", total}}.dump(2) + "\n");
    }
    if (!*keep && workdir->empty()) {
      fs::remove_all(dir);
      std::cout << "(work folder removed; pass --keep to keep it)\n";
    }
  });
}

}  // namespace fedxray
