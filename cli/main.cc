// fedxray: federated training of radiograph models across hospitals.
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>

#include "base/error.h"
#include "base/log.h"
#include "base/memory_tuning.h"
#include "base/version.h"
#include "cli/commands.h"
#include "cli/exit_code.h"

int main(int argc, char** argv) {
  // A peer that closes a TLS connection mid-write (a PACS refusing the client certificate, a
  // proxy going away) must be an error on that call, not SIGPIPE ending the agent.
  std::signal(SIGPIPE, SIG_IGN);
  fedxray::keep_model_buffers_mapped();
  CLI::App app{"fedxray: federated training of radiograph models; images never leave the site"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(fedxray::kVersion));
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "text, or json: one JSON object per line with time, level, job, round, site, msg")
      ->check(CLI::IsMember({"text", "json"}));
  app.parse_complete_callback([&] { fedxray::init_logging(log_level, log_format); });
  fedxray::add_provision_command(app);
  fedxray::add_coordinator_command(app);
  fedxray::add_site_command(app);
  fedxray::add_simulate_command(app);
  fedxray::add_evaluate_command(app);
  fedxray::add_export_command(app);
  fedxray::add_personalise_command(app);
  fedxray::add_admin_command(app);
  fedxray::add_audit_labels_command(app);
  fedxray::add_qc_command(app);
  fedxray::add_enroll_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const fedxray::CommandFailed& e) {
    std::cerr << "fedxray: " << e.what() << "\n";
    return e.code();
  } catch (const fedxray::Error& e) {
    std::cerr << "fedxray: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "fedxray: unexpected error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
