// Participant names (sites, admins, the coordinator) become certificate subjects, folder names
// and log fields, so they are restricted to a safe alphabet.
#pragma once

#include <string>

namespace fedxray {

// True for 1-63 lower-case letters, digits and '-', starting with a letter or digit.
bool is_valid_participant_name(const std::string& name);

// Job ids become state folder names, file records and log fields: 1-64 letters, digits, '-',
// '_' or '.', starting with a letter or digit. The coordinator checks them when a job is loaded
// and every site again when an assignment arrives.
bool is_valid_job_name(const std::string& name);
inline constexpr const char* kJobNameRule =
    "1-64 letters, digits, '-', '_' or '.', starting with a letter or digit";

}  // namespace fedxray
