#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "cli/commands.h"
#include "config/consortium_config.h"
#include "pki/certificate_authority.h"
#include "pki/provisioning.h"
#include "pki/signing_request.h"
#include "pki/revocation_list.h"

namespace fedxray {

void add_provision_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "provision", "Create the consortium CA and one startup kit per participant");
  auto consortium = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto revoke = std::make_shared<std::string>();
  cmd->add_option("--consortium", *consortium, "consortium YAML (participants, coordinator hosts)");
  cmd->add_option("--out", *out, "folder for the CA and the startup kits")->required();
  cmd->add_option("--revoke", *revoke,
                  "revoke this participant's certificate: adds it to <out>/ca/crl.pem; copy that "
                  "file to the coordinator's coordinator.revocation_list (re-read while running)");
  cmd->add_flag("--force", *force, "regenerate every key and certificate, replacing existing ones");
  // `fedxray provision revoke NAME --out kits`: the same as --revoke NAME.
  cmd->fallthrough();
  auto* revoke_cmd = cmd->add_subcommand("revoke", "Revoke a site's or admin's certificate");
  revoke_cmd->add_option("name", *revoke, "participant to revoke")->required();
  // `fedxray provision sign request.csr --out kits`: the CA signs a site's request (its key
  // stays at the site); the certificate goes to <out>/<name>/<name>.crt, where revoke finds it.
  auto* sign_cmd = cmd->add_subcommand(
      "sign", "Issue a site certificate for a signing request from `fedxray enroll`");
  auto request = std::make_shared<std::string>();
  auto days = std::make_shared<int>(825);
  sign_cmd->add_option("request", *request, "the site's .csr file")
      ->required()
      ->check(CLI::ExistingFile);
  sign_cmd->add_option("--days", *days, "validity of the certificate")->check(CLI::Range(1, 3650));
  sign_cmd->callback([=] {
    const std::string ca = *out + "/ca/";
    const SigningRequest csr = read_signing_request(read_file(*request));
    const CertificateAuthority authority =
        CertificateAuthority::load(read_file(ca + "ca.crt"), read_file(ca + "ca.key"));
    CertificateRequest what;
    what.common_name = csr.common_name;
    what.role = "site";
    what.validity_days = *days;
    const std::string folder = *out + "/" + csr.common_name;
    std::filesystem::create_directories(folder);
    const std::string cert = folder + "/" + csr.common_name + ".crt";
    const bool replaced = std::filesystem::exists(cert);
    if (replaced && role_of_certificate(read_file(cert)) != "site") {
      // The name in a request is the requester's to choose: it must not replace the
      // coordinator's, an admin's or a researcher's certificate.
      throw Error(cert + " is the certificate of a " + role_of_certificate(read_file(cert)) +
                  ", not of a site; the request asks for the name '" + csr.common_name +
                  "', which a site cannot have. Refused.");
    }
    write_file_atomically(cert, authority.issue_for_public_key(csr.public_key_pem, what));
    write_file_atomically(folder + "/ca.crt", authority.certificate_pem());
    std::cout << (replaced ? "replaced " : "created ") << cert << " (site " << csr.common_name
              << ", request SHA-256 " << csr.sha256 << ")\n"
              << "Hand it to the site (it goes to its kit as " << csr.common_name
              << ".crt), or let the coordinator deliver it: fedxray admin --kit ... approve "
              << csr.common_name << " --certificate " << cert << "\n";
  });
  cmd->callback([=] {
    if (sign_cmd->parsed()) return;  // done by its own callback
    if (!revoke->empty()) {
      const std::string ca = *out + "/ca/";
      const std::string crl_path = ca + "crl.pem";
      const std::string existing = std::filesystem::exists(crl_path) ? read_file(crl_path) : "";
      const std::string cert = *out + "/" + *revoke + "/" + *revoke + ".crt";
      if (!std::filesystem::exists(cert)) {
        throw Error("no startup kit for '" + *revoke + "' in " + *out + " (looked for " + cert + ")");
      }
      write_file_atomically(crl_path,
                            add_to_revocation_list(read_file(ca + "ca.crt"), read_file(ca + "ca.key"),
                                                   existing, read_file(cert)));
      std::cout << "revoked " << *revoke << " (serial " << certificate_serial(read_file(cert))
                << "); the revocation list is " << crl_path << "\n";
      return;
    }
    if (consortium->empty()) throw Error("provision needs --consortium (or --revoke NAME)");
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
