#include "config/participant_name.h"

#include <regex>

namespace fedxray {

bool is_valid_participant_name(const std::string& name) {
  static const std::regex pattern("[a-z0-9][a-z0-9-]{0,62}");
  return std::regex_match(name, pattern);
}

bool is_valid_job_name(const std::string& name) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
  return std::regex_match(name, pattern);
}

}  // namespace fedxray
