// The subcommands of the one `fedxray` executable. Each add_*_command registers its flags and
// its action on the CLI11 app; flags carry the same names as the config keys they override.
#pragma once

namespace CLI {
class App;
}

namespace fedxray {

void add_provision_command(CLI::App& app);
void add_coordinator_command(CLI::App& app);
void add_site_command(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_personalise_command(CLI::App& app);
void add_admin_command(CLI::App& app);
void add_audit_labels_command(CLI::App& app);
void add_qc_command(CLI::App& app);
void add_enroll_command(CLI::App& app);

}  // namespace fedxray
