#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "common/consortium_config.h"
#include "common/provisioning.h"

namespace fedxray {

void add_provision_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "provision", "Create the consortium CA and one startup kit per participant");
  auto consortium = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_option("--consortium", *consortium, "consortium YAML (participants, coordinator hosts)")
      ->required();
  cmd->add_option("--out", *out, "folder for the CA and the startup kits")->required();
  cmd->add_flag("--force", *force, "regenerate every key and certificate, replacing existing ones");
  cmd->callback([=] {
    ConsortiumConfig config = load_consortium_config(*consortium);
    ProvisionReport report = provision_consortium(config, *out, *force);
    for (const auto& f : report.created) std::cout << "created " << f << "\n";
    for (const auto& f : report.kept) std::cout << "kept    " << f << " (exists; --force replaces)\n";
    std::cout << "startup kits for consortium '" << config.name << "' are in " << *out
              << "; give each participant its own folder. Keep " << *out
              << "/ca/ca.key offline.\n";
  });
}

}  // namespace fedxray
