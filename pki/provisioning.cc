#include "pki/provisioning.h"

#include <sys/stat.h>

#include <filesystem>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "pki/certificate_authority.h"

namespace fedxray {
namespace fs = std::filesystem;
namespace {

// The OU of a PEM certificate ("" when unreadable).
std::string certificate_role(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  if (bio) BIO_free(bio);
  if (!cert) return "";
  char ou[128] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_organizationalUnitName, ou, sizeof(ou));
  X509_free(cert);
  return ou;
}

// A site's generator seed, from its name: kits made at different times, or after the list was
// reordered, still differ.
uint64_t site_seed(const std::string& name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ULL;
  return 1 + h % 1000000;
}

struct Kit {
  std::string name;
  std::string role;
  bool server = false;
  std::vector<std::string> hosts;
  std::string config_name;
  std::string config_text;
};

class KitWriter {
 public:
  KitWriter(bool force, ProvisionReport& report) : force_(force), report_(report) {}

  // Writes `path` unless it exists and we are not forcing. Returns the file's contents.
  std::string ensure(const std::string& path, int mode, const std::string& contents) {
    if (!force_ && fs::exists(path)) {
      report_.kept.push_back(path);
      return read_file(path);
    }
    write_file_atomically(path, contents, mode);
    ::chmod(path.c_str(), mode);
    report_.created.push_back(path);
    return contents;
  }
  bool exists_unforced(const std::string& path) const { return !force_ && fs::exists(path); }

 private:
  bool force_;
  ProvisionReport& report_;
};

std::string coordinator_yaml(const ConsortiumConfig& c, const std::string& name) {
  std::string sites;
  for (const auto& s : c.sites) sites += "    - " + s + "\n";
  return "# fedxray coordinator for consortium '" + c.name + "'. Paths are relative to this file.\n"
         "coordinator:\n"
         "  listen: \"0.0.0.0:" + std::to_string(c.coordinator_port) + "\"\n"
         "  certificate: " + name + ".crt\n"
         "  private_key: " + name + ".key\n"
         "  ca_certificate: ca.crt\n"
         "  state_dir: state\n"
         "  heartbeat_timeout_s: 60\n"
         "  # New sites enrol with keys made on their own machines (fedxray enroll): uncomment\n"
         "  # to open the enrolment port, and to let `fedxray admin approve` sign here rather\n"
         "  # than on the CA's offline machine (fedxray provision sign).\n"
         "  # enrollment_listen: \"0.0.0.0:" + std::to_string(c.coordinator_port + 1) + "\"\n"
         "  # ca_private_key: ../ca/ca.key\n"
         "  sites:\n" + sites;
}

// The lines every participant config shares: who it is, where the coordinator is, its kit.
std::string identity_yaml(const ConsortiumConfig& c, const std::string& section,
                          const std::string& name) {
  return "# fedxray " + section + " '" + name + "'. Paths are relative to this file.\n" +
         section + ":\n"
         "  name: " + name + "\n"
         "  coordinator: \"" + c.coordinator_hosts.front() + ":" +
         std::to_string(c.coordinator_port) + "\"\n"
         "  certificate: " + name + ".crt\n"
         "  private_key: " + name + ".key\n"
         "  ca_certificate: ca.crt\n";
}

// Each site's kit starts on the offline generator with a seed of its own (so a first federation
// shows sites that differ), and shows, commented out, how to point it at real data instead.
std::string site_yaml(const ConsortiumConfig& c, const std::string& name) {
  return identity_yaml(c, "site", name) +
         "  threads: 0\n"
         "  # Only where the hospital lets traffic out through an HTTP proxy (without this block\n"
         "  # the agent uses https_proxy and no_proxy from its environment, if set):\n"
         "  # proxy:\n"
         "  #   url: http://proxy.hospital.local:3128\n"
         "  #   credentials_file: /etc/fedxray/proxy-credentials   # user:password, mode 0600\n"
         "  data:\n"
         "    # Synthetic radiograph-like images, to try the federation before real data is wired\n"
         "    # in. Replace this block with one of the real sources below (see README.md,\n"
         "    # \"Site\" in the configuration reference, for every key).\n"
         "    source: synthetic\n"
         "    images: 600\n"
         "    held_out_fraction: 0.2\n"
         "    seed: " + std::to_string(site_seed(name)) + "   # each site its own images\n"
         "    intensity_shift: 0.0\n"
         "\n"
         "    # PNG or JPEG files listed in a CSV manifest (paths relative to the manifest):\n"
         "    # source: image_folder\n"
         "    # manifest: /srv/fedxray/images/labels.csv   # columns: filename,label,patient\n"
         "    # label_column: label\n"
         "    # patient_column: patient     # pseudonymous key: no patient on both sides of the split\n"
         "\n"
         "    # DICOM files in the same kind of manifest: each is de-identified into the cache\n"
         "    # (PS3.15 Annex E) before it is decoded; the cache and its key stay here:\n"
         "    # source: image_folder\n"
         "    # manifest: /srv/fedxray/dicom/labels.csv    # filename: path to each .dcm\n"
         "    # deid_cache: /var/lib/fedxray/deid          # mode 0700, the agent's own\n"
         "\n"
         "    # A MedMNIST-style NumPy archive:\n"
         "    # source: npz\n"
         "    # file: /srv/fedxray/pneumoniamnist.npz\n"
         "\n"
         "    # Straight from the hospital PACS (DICOMweb, or DIMSE with protocol: dimse):\n"
         "    # source: pacs\n"
         "    # pacs:\n"
         "    #   url: https://pacs.hospital.local/dicom-web\n"
         "    #   ca_certificate: /etc/fedxray/hospital-ca.pem\n"
         "    #   username: fedxray-site\n"
         "    #   password_file: /etc/fedxray/pacs-password   # mode 0600\n"
         "    #   modality: CR\n"
         "    #   labels: /srv/fedxray/labels.csv   # accession_number,label\n";
}

std::string admin_yaml(const ConsortiumConfig& c, const std::string& name) {
  return identity_yaml(c, "admin", name);
}

// A researcher uses the admin CLI with a certificate of its own role (OU=researcher).
std::string researcher_yaml(const ConsortiumConfig& c, const std::string& name) {
  return "# Researcher kit: `fedxray admin --kit <this folder> jobs | status | metrics | download |\n"
         "# report` work; submitting, aborting and the site and audit views need an admin\n"
         "# certificate.\n" +
         identity_yaml(c, "admin", name);
}

}  // namespace

std::string site_kit_yaml(const std::string& name, const std::string& coordinator) {
  const std::size_t colon = coordinator.rfind(':');
  if (colon == std::string::npos) {
    throw Error("the coordinator must be host:port (got \"" + coordinator + "\")");
  }
  ConsortiumConfig c;
  c.coordinator_hosts = {coordinator.substr(0, colon)};
  try {
    c.coordinator_port = std::stoi(coordinator.substr(colon + 1));
  } catch (const std::exception&) {
    throw Error("the coordinator's port is not a number (got \"" + coordinator + "\")");
  }
  return site_yaml(c, name);
}

ProvisionReport provision_consortium(const ConsortiumConfig& c, const std::string& out_dir,
                                     bool force) {
  ProvisionReport report;
  KitWriter writer(force, report);
  fs::create_directories(fs::path(out_dir) / "ca");
  const std::string ca_cert_path = (fs::path(out_dir) / "ca" / "ca.crt").string();
  const std::string ca_key_path = (fs::path(out_dir) / "ca" / "ca.key").string();

  CertificateAuthority ca = [&] {
    if (writer.exists_unforced(ca_key_path) && fs::exists(ca_cert_path)) {
      return CertificateAuthority::load(read_file(ca_cert_path), read_file(ca_key_path));
    }
    if (writer.exists_unforced(ca_key_path) || writer.exists_unforced(ca_cert_path)) {
      throw Error("found only half of the CA in " + out_dir + "/ca (need ca.crt and ca.key); "
                  "restore the missing file or re-run with --force to start a new consortium");
    }
    return CertificateAuthority::create(c.name, c.validity_days);
  }();
  writer.ensure(ca_key_path, 0600, ca.private_key_pem());
  writer.ensure(ca_cert_path, 0644, ca.certificate_pem());

  std::vector<Kit> kits;
  kits.push_back({c.coordinator_name, "coordinator", true, c.coordinator_hosts, "coordinator.yaml",
                  coordinator_yaml(c, c.coordinator_name)});
  for (const auto& s : c.sites) kits.push_back({s, "site", false, {}, "site.yaml", site_yaml(c, s)});
  for (const auto& a : c.admins) {
    kits.push_back({a, "admin", false, {}, "admin.yaml", admin_yaml(c, a)});
  }
  for (const auto& r : c.researchers) {
    kits.push_back({r, "researcher", false, {}, "admin.yaml", researcher_yaml(c, r)});
  }

  for (const auto& kit : kits) {
    fs::path dir = fs::path(out_dir) / kit.name;
    fs::create_directories(dir);
    const std::string key_path = (dir / (kit.name + ".key")).string();
    const std::string cert_path = (dir / (kit.name + ".crt")).string();
    const bool had_key = writer.exists_unforced(key_path);
    std::string key = writer.ensure(key_path, 0600, had_key ? "" : generate_private_key_pem());
    CertificateRequest req{kit.name, kit.role, kit.hosts, kit.server, c.validity_days};
    if (!had_key && fs::exists(cert_path)) fs::remove(cert_path);  // cert of a replaced key
    if (writer.exists_unforced(cert_path)) {
      // A kept certificate must still be for the role the consortium gives this name (an admin
      // moved to researchers must not keep an admin certificate).
      const std::string held = certificate_role(read_file(cert_path));
      if (held != kit.role) {
        throw Error(cert_path + " was issued for role '" + held + "', but the consortium now "
                    "lists '" + kit.name + "' as '" + kit.role + "'; revoke it (fedxray provision revoke " +
                    kit.name + " --out " + out_dir + "), move the folder " + dir.string() +
                    " aside, and provision again");
      }
    }
    writer.ensure(cert_path, 0644, writer.exists_unforced(cert_path) ? "" : ca.issue(key, req));
    writer.ensure((dir / "ca.crt").string(), 0644, ca.certificate_pem());
    writer.ensure((dir / kit.config_name).string(), 0644, kit.config_text);
    if (kit.role == "admin" || kit.role == "researcher") {
      // The same key and certificate for a browser: the web console (coordinator.console_listen).
      const std::string p12 = (dir / (kit.name + ".p12")).string();
      if (!had_key && fs::exists(p12)) fs::remove(p12);
      writer.ensure(p12, 0600,
                    writer.exists_unforced(p12)
                        ? ""
                        : make_pkcs12(key, read_file(cert_path), ca.certificate_pem(), kit.name));
    }
  }
  return report;
}

}  // namespace fedxray
