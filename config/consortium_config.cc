#include "config/consortium_config.h"

#include <set>

#include "config/config_reader.h"
#include "config/participant_name.h"

namespace fedxray {
namespace {

void check_names(ConfigReader& r, const std::string& key, const std::vector<std::string>& names,
                 std::set<std::string>& taken) {
  for (const auto& n : names) {
    if (!is_valid_participant_name(n)) {
      r.fail(key, "holds \"" + n + "\": names are 1-63 lower-case letters, digits or '-'");
    }
    if (!taken.insert(n).second) {
      r.fail(key, "holds \"" + n + "\" twice (names must be unique across the consortium)");
    }
  }
}

}  // namespace

ConsortiumConfig load_consortium_config(const std::string& file) {
  ConfigReader root = ConfigReader::load_file(file);
  ConfigReader r = root.section("consortium");
  ConsortiumConfig c;
  c.name = r.string("name");
  c.validity_days = int(r.integer("validity_days", 1, 3650, c.validity_days));
  ConfigReader coord = r.section("coordinator");
  c.coordinator_name = coord.string("name", c.coordinator_name);
  c.coordinator_hosts = coord.string_list("hosts");
  if (c.coordinator_hosts.empty()) {
    coord.fail("hosts", "must list at least one DNS name or IP address sites will dial");
  }
  c.coordinator_port = int(coord.integer("port", 1, 65535, c.coordinator_port));
  coord.finish();
  c.sites = r.string_list("sites");
  if (c.sites.empty()) r.fail("sites", "must list at least one site");
  c.admins = r.string_list("admins", std::vector<std::string>{});
  c.researchers = r.string_list("researchers", std::vector<std::string>{});
  std::set<std::string> taken{c.coordinator_name, "ca"};
  if (!is_valid_participant_name(c.coordinator_name)) {
    r.fail("coordinator", "name \"" + c.coordinator_name + "\" is not a valid participant name");
  }
  check_names(r, "sites", c.sites, taken);
  check_names(r, "admins", c.admins, taken);
  check_names(r, "researchers", c.researchers, taken);
  r.finish();
  root.finish();
  return c;
}

}  // namespace fedxray
