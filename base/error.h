// fedxray::Error: the one exception type the project throws for conditions a person must act on.
//
// Contract: what() is a complete sentence naming what went wrong, where (file, key, line, site)
// and how to fix it. Code that catches Error may print what() to an operator as it is.
#pragma once

#include <stdexcept>
#include <string>

namespace fedxray {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A configuration file is wrong; what() names the file, the key and the line.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message) {}
};

// An Error whose message may leave the site: it names rules, counts, jobs and sites, never local
// file names or values from the data. The site agent sends only these to the coordinator as
// the reason it refused or failed a round; any other Error stays in the site's log.
class ShareableError : public Error {
 public:
  explicit ShareableError(const std::string& message) : Error(message) {}
};

}  // namespace fedxray
