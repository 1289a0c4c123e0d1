// Participant names (sites, admins, the coordinator) become certificate subjects, folder names
// and log fields, so they are restricted to a safe alphabet.
#pragma once

#include <string>

namespace fedxray {

// True for 1-63 lower-case letters, digits and '-', starting with a letter or digit.
bool is_valid_participant_name(const std::string& name);

}  // namespace fedxray
