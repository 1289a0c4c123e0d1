// DeidGate: the site's de-identification gate for one data source. Every DICOM file goes
// through privacy/deid/dicom_deidentifier into the cache folder before anything decodes it; the
// cached copy is named by a keyed hash of the original path, so file names (which often carry
// patient IDs) do not appear there either. The gate keeps a per-run record of what it did and
// writes it as JSON (`deid-report.json` in the cache folder): manifest row, cached copy, and
// the attributes removed, emptied or pseudonymised, or why the image was refused, never the
// identifying values themselves. Thread-safe: images are gated from several decoder threads.
//
// Where the copies and the key live: data.deid_cache, by default $XDG_CACHE_HOME/fedxray/deid
// or, without XDG_CACHE_HOME, $HOME/.cache/fedxray/deid of the user the agent runs as (never a
// shared temporary folder another user could create first). The key is data.deid_secret_file,
// by default <cache>/site-secret.key: deleting it changes every pseudonym, so back it up with
// the site's configuration. Whatever the paths, the cache folder must be a real folder (not a
// symbolic link) owned by the agent's uid with mode 0700, and the key a regular file (not a
// link) owned by that uid with mode 0600 (or 0400), neither in a folder others may write
// without the sticky bit; anything else is refused with an Error that names the path and the
// chmod/chown that fixes it. What is missing is created that way (mkdir 0700; the key with
// O_EXCL|O_NOFOLLOW, 0600, then linked into place so concurrent agents keep one key).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/site_config.h"
#include "privacy/deid/dicom_deidentifier.h"

namespace fedxray {

class DeidGate {
 public:
  // Creates the cache folder and the key when missing, checks both as above; throws Error.
  explicit DeidGate(const DataSourceConfig& config);

  // The path to decode for `path`: the de-identified copy for DICOM files, `path` itself for
  // others. Throws Error (row skipped) when the image is refused or cannot be de-identified.
  std::string gate(const std::string& path, const std::string& row_label);

  // The report so far; write_report() stores it atomically in the cache folder.
  nlohmann::json report() const;
  std::string write_report() const;
  const std::string& cache_dir() const { return cache_; }
  // The keyed pseudonym of an identifier (16 hex digits, privacy/deid/dicom_deidentifier.h): the
  // same one the gate writes as Patient ID for that patient.
  std::string pseudonym(const std::string& identifier) const {
    return pseudonymous_id(options_.secret, identifier);
  }

 private:
  std::string cache_;
  DeidOptions options_;
  mutable std::mutex mu_;
  std::vector<nlohmann::json> entries_;
};

// Creates `path` (mkdir -p, 0700) when missing and checks it as the cache folder above: a real
// folder owned by this uid, mode 0700, not in a folder others may write; otherwise throws Error
// naming the path, `what` it is, `config_key` and the fix.
void prepare_private_folder(const std::string& path, const std::string& what,
                            const std::string& config_key);

// Runs the gate over every DICOM file an image_folder manifest lists, without training:
// `fedxray site --config site.yaml --deid-report`. Returns the report (also written to the
// cache folder); rows that are not DICOM are left out of it.
nlohmann::json deid_report_for(const DataSourceConfig& config);

}  // namespace fedxray
