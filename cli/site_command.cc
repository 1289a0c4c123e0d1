#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "base/atomic_file.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/signal_stop.h"
#include "config/site_config.h"
#include "data/data_source.h"
#include "data/deid_gate.h"
#include "data/pacs_source.h"
#include "ops/metrics_endpoint.h"
#include "pki/tls.h"
#include "site-agent/site_agent.h"
#include "site-agent/transport/certificate_renewal.h"
#include "site-agent/transport/secure_upload.h"
#include "training/torch_trainer.h"

namespace fedxray {

void add_site_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("site", "Run a hospital's site agent (dials out to the coordinator)");
  auto config_path = std::make_shared<std::string>();
  auto coordinator = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path, "site YAML from the startup kit")->required();
  cmd->add_option("--coordinator", *coordinator, "override site.coordinator (host:port)");
  auto serve = std::make_shared<bool>(false);
  auto give_up = std::make_shared<double>(300);
  cmd->add_flag("--serve", *serve,
                "keep serving the coordinator's next jobs after one ends (run as a service)");
  cmd->add_option("--give-up-after", *give_up,
                  "seconds without reaching the coordinator before the agent exits")
      ->check(CLI::PositiveNumber);
  auto deid_report = std::make_shared<bool>(false);
  cmd->add_flag("--deid-report", *deid_report,
                "de-identify every DICOM file the manifest lists and print what was removed, "
                "replaced or refused (no identifying values), without training");
  auto pacs_status = std::make_shared<bool>(false);
  cmd->add_flag("--pacs-status", *pacs_status,
                "data.source pacs: say whether the PACS answers, how many labelled studies it has "
                "that are not cached yet, and the local cache's counts and quarantine reasons, "
                "without training (exit 3 when the PACS cannot be reached)");
  auto pacs_sync = std::make_shared<bool>(false);
  cmd->add_flag("--pacs-sync", *pacs_sync,
                "data.source pacs: fetch what is new into the local de-identified cache now, "
                "without training (exit 3 when the PACS stayed unreachable)");
  auto renew = std::make_shared<bool>(false);
  cmd->add_flag("--renew-certificate", *renew,
                "renew the site's certificate now (a new key made here, signed by the consortium "
                "CA through the coordinator) and exit");
  cmd->callback([=] {
    SiteConfig config = load_site_config(*config_path);
    if (*deid_report) {
      std::cout << deid_report_for(config.data).dump(2) << std::endl;
      return;
    }
    if (*pacs_status || *pacs_sync) {
      if (config.data.source != "pacs") {
        throw CommandFailed(2, *config_path + ": --pacs-status and --pacs-sync need site.data.source: "
                               "pacs (this site reads " + config.data.source + ")");
      }
      PacsSource pacs(config.data);
      const nlohmann::json report = *pacs_sync ? pacs.sync().to_json() : pacs.status();
      std::cout << report.dump(2) << std::endl;
      const bool reached = *pacs_sync ? !report.contains("stopped") : report["reachable"].get<bool>();
      if (!reached) throw CommandFailed(3, "the PACS could not be reached");
      return;
    }
    if (!coordinator->empty()) config.coordinator = *coordinator;
    const TlsFiles kit{config.certificate, config.private_key, config.ca_certificate};
    finish_interrupted_renewal(kit);
    const ProxyRoute route = choose_proxy_route(config.proxy, config.coordinator);
    if (!route.grpc_proxy.empty()) {
      // The route is decided (no_proxy included); gRPC would otherwise apply the environment's
      // no_proxy once more and could go direct while the log says "through the proxy".
      for (const char* name : {"no_proxy", "NO_PROXY", "no_grpc_proxy"}) ::unsetenv(name);
    }
    const auto dial_coordinator = [target = config.coordinator, kit, proxy = route.grpc_proxy] {
      DialOptions through;
      through.http_proxy = proxy;
      return dial(target, kit, std::move(through));
    };
    // Renews when the certificate is due (or now, with --renew-certificate); true if it did.
    const auto renew_if_due = [&config, kit, dial_coordinator, force = *renew] {
      const int64_t days = days_until(certificate_not_after(read_file(kit.certificate)));
      if (!force && (config.renew_certificate_days == 0 || days >= config.renew_certificate_days)) {
        return false;
      }
      spdlog::info("site={} renewing its certificate ({} days left)", config.name, days);
      renew_certificate(dial_coordinator(), kit, config.name);
      return true;
    };
    if (*renew) {
      renew_if_due();
      std::cout << "site " << config.name << ": certificate renewed (" << config.certificate
                << ")\n";
      return;
    }
    try {
      renew_if_due();
    } catch (const std::exception& e) {
      spdlog::warn("site={} could not renew its certificate yet: {}", config.name, e.what());
    }
    warn_if_certificate_expires_soon(config.certificate, "site " + config.name);
    if (config.threads > 0) torch::set_num_threads(config.threads);
    TorchTrainer trainer(make_data_source(config.data));
    trainer.set_personal_model_dir(config.personal_model_dir);
    SiteAgentOptions options{config.name, *give_up, read_site_credentials(config.name, kit),
                             config.policy};
    options.serve_after_job = *serve;
    spdlog::info("site={} reaches the coordinator {} {}", config.name, config.coordinator,
                 route.description);
    options.route = route.description;
    options.redial = dial_coordinator;
    options.maintenance = renew_if_due;
    options.reload_credentials = [name = config.name, kit] {
      return read_site_credentials(name, kit);
    };
    SiteAgent agent(dial_coordinator(), options, trainer);
    stop_on_signal([&agent] { agent.stop(); });
    std::unique_ptr<MetricsEndpoint> metrics;
    if (!config.metrics_listen.empty()) {
      metrics = std::make_unique<MetricsEndpoint>(config.metrics_listen, "site.metrics_listen", [&] {
        const SiteAgent::Counters c = agent.counters();
        std::string out;
        append_metric(out, "fedxray_site_up", "gauge", "1 while the site agent runs", {{"", 1}});
        append_metric(out, "fedxray_site_coordinator_reachable", "gauge",
                      "1 if the last call reached the coordinator", {{"", c.coordinator_reachable}});
        append_metric(out, "fedxray_site_training", "gauge", "1 while a round is being served",
                      {{"", c.training}});
        append_metric(out, "fedxray_site_rounds_total", "counter", "Rounds served, by outcome",
                      {{"outcome=\"uploaded\"", double(c.rounds_uploaded)},
                       {"outcome=\"failed\"", double(c.rounds_failed)}});
        append_metric(out, "fedxray_site_model_bytes_downloaded_total", "counter",
                      "Global model bytes downloaded", {{"", double(c.model_bytes_downloaded)}});
        append_metric(out, "fedxray_site_update_bytes_uploaded_total", "counter",
                      "Update bytes uploaded", {{"", double(c.update_bytes_uploaded)}});
        return out;
      }, MetricsSecurity{config.metrics_allow_remote,
                         config.metrics_tls ? config.certificate : std::string(),
                         config.private_key, config.ca_certificate});
    }
    const std::string outcome = agent.run();
    std::cout << "site " << config.name << ": " << outcome << "\n";
  });
}

}  // namespace fedxray
