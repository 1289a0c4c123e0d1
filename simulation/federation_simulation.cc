#include "simulation/federation_simulation.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/transport/coordinator_service.h"
#include "data/data_source.h"
#include "data/dataset_partition.h"
#include "data/synthetic_radiographs.h"
#include "models/model_weights.h"
#include "models/torchscript_model.h"
#include "pki/provisioning.h"
#include "pki/tls.h"
#include "simulation/hostile_trainer.h"
#include "training/label_fit.h"
#include "training/personalization.h"
#include "simulation/initial_model.h"
#include "site-agent/site_agent.h"
#include "site-agent/transport/secure_upload.h"
#include "training/torch_trainer.h"
#include "wire/model_file.h"

namespace fedxray {
namespace fs = std::filesystem;
namespace {

struct SimulatedSite {
  std::string name;
  TrainHeldOut data;
  double intensity_shift = 0;
};

// The data source, after checking that its labels suit the job's task.
std::unique_ptr<DataSource> job_data_source(const DataSourceConfig& source, const JobConfig& job) {
  std::unique_ptr<DataSource> data = make_data_source(source);
  check_labels_fit(parse_label_task(job.task), *data);
  return data;
}

std::vector<SimulatedSite> make_sites(const SimulationFile& config) {
  const SimulationConfig& sim = config.simulation;
  if (!sim.site_data.empty()) {  // one real institution per site, each with its own split
    std::vector<SimulatedSite> sites;
    for (std::size_t i = 0; i < sim.site_data.size(); ++i) {
      SimulatedSite s;
      s.name = "site-" + std::to_string(i + 1);
      s.data = job_data_source(sim.site_data[i], config.job)
                   ->load(config.job.classes, config.job.image_size);
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
  if ((config.job.task == "multilabel" || config.job.task == "segmentation") &&
      sim.partition == "dirichlet") {
    throw Error("simulation.partition: dirichlet deals each class out to sites, but a " +
                config.job.task + " job's images have no one class; use iid");
  }
  ImagePool pool =
      job_data_source(source, config.job)->load_pool(config.job.classes, config.job.image_size);
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

ImageSet union_of(const std::vector<SimulatedSite>& sites, ImageSet TrainHeldOut::*part) {
  ImageSet all = sites[0].data.*part;
  for (std::size_t i = 1; i < sites.size(); ++i) {
    const ImageSet& more = sites[i].data.*part;
    for (std::size_t k = 0; k < more.count(); ++k) all.append(more, k);
  }
  return all;
}

}  // namespace

SimulationResult run_federation_simulation(
    const SimulationFile& config, const std::string& work_dir,
    const std::function<void(const JobProgress&)>& on_progress) {
  fs::create_directories(work_dir);
  ConsortiumConfig consortium;
  consortium.name = "simulation";
  consortium.coordinator_hosts = {"127.0.0.1", "localhost"};
  consortium.coordinator_port = 0;
  std::vector<SimulatedSite> sites = make_sites(config);
  const LabelTask task = parse_label_task(config.job.task);
  const bool multilabel = task == LabelTask::multilabel;
  for (const auto& s : sites) consortium.sites.push_back(s.name);
  provision_consortium(consortium, work_dir + "/kits", false);
  auto kit = [&](const std::string& name) {
    const std::string d = work_dir + "/kits/" + name + "/";
    return TlsFiles{d + name + ".crt", d + name + ".key", d + "ca.crt"};
  };

  CoordinatorOptions options;
  options.state_dir = work_dir + "/state";
  options.allowed_sites = consortium.sites;
  options.heartbeat_timeout_s = 30;
  CheckpointStore store(options.state_dir, config.job.name);
  ModelBlob initial = make_initial_model(config.job);
  JobRunner runner(config.job, options, initial,
                   make_job_strategy(config.job, store.journal_dir(),
                                     read_file(kit(consortium.coordinator_name).ca_certificate)));
  CoordinatorServer server(runner, "127.0.0.1:0",
                           make_server_credentials(kit(consortium.coordinator_name)));
  const std::string target = "127.0.0.1:" + std::to_string(server.port());

  std::filesystem::remove_all(work_dir + "/personalised");  // none from an earlier run
  std::vector<std::unique_ptr<TorchTrainer>> trainers;
  std::unique_ptr<HostileTrainer> hostile;  // simulation.attack's site, if any
  std::vector<std::unique_ptr<SiteAgent>> agents;
  for (std::size_t i = 0; i < sites.size(); ++i) {
    const auto& s = sites[i];
    trainers.push_back(std::make_unique<TorchTrainer>(std::make_shared<InMemoryDataSource>(s.data, multilabel)));
    trainers.back()->set_personal_model_dir(work_dir + "/personalised/" + s.name);
    Trainer* trainer = trainers.back().get();
    if (config.simulation.attack.site == int(i) + 1) {
      hostile = std::make_unique<HostileTrainer>(*trainer, config.simulation.attack);
      trainer = hostile.get();
      spdlog::warn("simulation: site {} is hostile ({} x {})", s.name,
                   config.simulation.attack.kind, config.simulation.attack.scale);
    }
    agents.push_back(std::make_unique<SiteAgent>(
        dial(target, kit(s.name)),
        SiteAgentOptions{s.name, 60, read_site_credentials(s.name, kit(s.name))}, *trainer));
  }
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
  const auto federation_start = std::chrono::steady_clock::now();
  std::thread coordinator([&] { ok = runner.run(); });
  for (;;) {
    JobProgress p = runner.progress();
    on_progress(p);
    if (p.finished) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  coordinator.join();
  const double federation_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - federation_start).count();
  for (auto& t : threads) t.join();
  server.shutdown();
  if (!ok) {
    throw Error("simulation failed: " + runner.progress().message + "; metrics in " +
                store.metrics_path());
  }

  // The verdict, on each site's own held-out images: the pooled model, the same model trained
  // on that site alone, and (only a simulation can compute it) on the union of all sites.
  SimulationResult result;
  result.task = task;
  result.label_names = config.job.label_names;
  result.pooled_model_path = store.pooled_path();
  result.pooled_torchscript = store.dir() + "/pooled.pt";
  result.metrics_path = store.metrics_path();
  ModelBlob pooled_blob = read_model_file(store.pooled_path());
  result.federation_seconds = federation_seconds;
  result.rounds = config.job.rounds;
  // What the sites actually moved (models down, updates up), per round.
  uint64_t moved = 0;
  for (const auto& agent : agents) {
    const SiteAgent::Counters c = agent->counters();
    moved += c.model_bytes_downloaded + c.update_bytes_uploaded;
  }
  result.bytes_per_round = moved / uint64_t(std::max(1, config.job.rounds));
  auto pooled = model_from_blob(pooled_blob);
  export_torchscript(pooled_blob, result.pooled_torchscript);
  TrainingOptions o;
  o.epochs = config.job.rounds * config.job.local_epochs;
  o.batch_size = config.job.batch_size;
  o.optimizer = config.job.optimizer;
  o.learning_rate = config.job.learning_rate;
  o.momentum = config.job.momentum;
  o.seed = config.job.seed;
  o.augmentation.enabled = config.job.augment;
  o.logit_adjustment = config.job.logit_adjustment;
  o.classes = config.job.classes;
  o.task = task;
  if (config.job.learning_rate_schedule == "cosine") o.schedule_epochs = o.epochs;
  const int classes = config.job.classes;
  const std::size_t n = sites.size();
  result.sites.resize(n);
  std::vector<std::shared_ptr<ImageClassifier>> local_models(n);
  std::shared_ptr<ImageClassifier> central;
  std::vector<std::thread> baselines;
  for (std::size_t i = 0; i < n; ++i) {
    SimulatedSiteResult& r = result.sites[i];
    r.name = sites[i].name;
    r.train_images = sites[i].data.train.count();
    r.held_out_images = sites[i].data.held_out.count();
    r.intensity_shift = sites[i].intensity_shift;
    r.pooled = evaluate(*pooled, sites[i].data.held_out, task, classes);
    baselines.emplace_back([&, i] {
      local_models[i] = model_from_blob(initial);
      TrainingOptions site_options = o;
      site_options.seed = config.job.seed + i;
      train_epochs(*local_models[i], sites[i].data.train, site_options);
    });
  }
  baselines.emplace_back([&] {
    central = model_from_blob(initial);
    train_epochs(*central, union_of(sites, &TrainHeldOut::train), o);
  });
  const PersonalizationConfig& personal = config.job.personalization;
  if (!personal.method.empty()) {
    // The model each site ends the job with: Ditto's personal model as the site kept it, or the
    // pooled model fine-tuned on the site's data (what `fedxray personalise` does after a job).
    baselines.emplace_back([&] {
      PersonalizationOptions p{personal.method, personal.epochs, personal.head_only,
                               personal.ditto_lambda};
      TrainingOptions site_options = o;  // personalise() sets the epochs
      for (std::size_t i = 0; i < n; ++i) {
        std::shared_ptr<ImageClassifier> mine;
        if (p.method == "ditto") {
          const std::string file = work_dir + "/personalised/" + sites[i].name + "/" +
                                   config.job.name + ".personalised.fxm";
          std::error_code ec;
          if (!std::filesystem::exists(file, ec)) continue;  // never selected: none to show
          mine = model_from_blob(read_model_file(file));
        } else {
          mine = model_from_blob(pooled_blob);
          site_options.seed = config.job.seed + i;
          personalise(*mine, *pooled, sites[i].data.train, site_options, p);
        }
        result.sites[i].personalised = evaluate(*mine, sites[i].data.held_out, task, classes);
        result.sites[i].has_personalised = true;
      }
    });
  }
  if (config.job.fedbn.enabled) {
    // The model FedBN gives each site: the pooled model with the site's own batch-norm layers.
    for (std::size_t i = 0; i < n; ++i) {
      const std::string file = work_dir + "/personalised/" + sites[i].name + "/" +
                               config.job.name + ".batch-norm.fxm";
      std::error_code ec;
      if (!std::filesystem::exists(file, ec)) continue;  // never selected: none to show
      auto mine = model_from_blob(pooled_blob);
      import_some_weights(*mine, read_model_file(file));
      result.sites[i].personalised = evaluate(*mine, sites[i].data.held_out, task, classes);
      result.sites[i].has_personalised = true;
    }
  }
  for (auto& t : baselines) t.join();

  const ImageSet all_held_out = union_of(sites, &TrainHeldOut::held_out);
  if (multilabel) {
    result.held_out_positives.assign(std::size_t(classes), 0);
    for (int64_t label : all_held_out.labels) {
      for (int k = 0; k < classes; ++k) result.held_out_positives[std::size_t(k)] += has_finding(label, k);
    }
  }
  result.pooled_on_union = evaluate(*pooled, all_held_out, task, classes);
  result.centralised_on_union = evaluate(*central, all_held_out, task, classes);
  result.cross_site.assign(n, std::vector<double>(n, 0.0));
  for (std::size_t i = 0; i < n; ++i) {
    result.sites[i].centralised = evaluate(*central, sites[i].data.held_out, task, classes);
    for (std::size_t j = 0; j < n; ++j) {
      Evaluation e = evaluate(*local_models[i], sites[j].data.held_out, task, classes);
      if (i == j) result.sites[i].local_only = e;
      result.cross_site[i][j] = e.metrics.headline();
    }
  }
  return result;
}

}  // namespace fedxray
