#include "config/admin_config.h"

#include <filesystem>

#include "base/error.h"
#include "config/config_reader.h"

namespace fedxray {

AdminConfig load_admin_config(const std::string& kit) {
  std::string file = kit;
  std::error_code ec;
  if (std::filesystem::is_directory(kit, ec)) file = (std::filesystem::path(kit) / "admin.yaml").string();
  if (!std::filesystem::exists(file, ec)) {
    throw Error("no admin configuration at " + file + "; pass --kit the admin's startup kit "
                "folder from `fedxray provision` (it holds admin.yaml)");
  }
  ConfigReader root = ConfigReader::load_file(file);
  ConfigReader r = root.section("admin");
  AdminConfig c;
  c.name = r.string("name");
  c.coordinator = r.string("coordinator");
  if (c.coordinator.find(':') == std::string::npos) {
    r.fail("coordinator", "must be host:port (got \"" + c.coordinator + "\")");
  }
  c.certificate = r.path("certificate");
  c.private_key = r.path("private_key");
  c.ca_certificate = r.path("ca_certificate");
  r.finish();
  root.finish();
  return c;
}

}  // namespace fedxray
