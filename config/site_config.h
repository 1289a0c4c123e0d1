// SiteConfig: a hospital's site agent settings, read from the `site:` mapping of its YAML file
// (the startup kit ships a ready-to-edit one). Relative paths are resolved against the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/site_policy.h"

namespace fedxray {

class ConfigReader;

// Where the site's images come from: "synthetic" (the offline generator), "image_folder"
// (PNG/JPEG files listed in a CSV manifest) or "npz" (a MedMNIST-style NumPy archive).
struct DataSourceConfig {
  std::string source = "synthetic";
  std::string manifest;             // image_folder: CSV; image paths are relative to its folder
  std::string image_column = "filename";
  std::string label_column = "label";   // integer class ids 0..classes-1
  // image_folder, multi-label jobs: one 0/1 column per finding, in the job's order (the images'
  // labels are then bit sets of findings). Empty: one class per image from label_column.
  std::vector<std::string> label_columns;
  // image_folder: when set, label_column holds class names, class k being class_names[k]
  // (e.g. [AbdomenCT, BreastMRI, CXR, ...]) instead of integers.
  std::vector<std::string> class_names;
  // image_folder, segmentation jobs: column with each image's mask file (PNG, relative to the
  // manifest's folder: 0/255 for one structure, or class indices 0..classes-1). Rows with an
  // empty cell are skipped.
  std::string mask_column;
  std::string patient_column;       // optional: split by this key so no patient is on both sides
  std::string file;                 // npz: the archive
  std::string train_split = "train";     // npz: members <split>_images.npy / <split>_labels.npy
  std::string held_out_split = "test";   // npz: empty = hold out held_out_fraction of train
  int images = 600;                 // synthetic: how many images to generate
  double held_out_fraction = 0.2;   // share kept for local evaluation, never trained on
  uint64_t seed = 1;
  double intensity_shift = 0.0;     // synthetic: scanner-like brightness offset
  // image_folder with DICOM files: every DICOM image is de-identified into this folder first
  // (privacy/deid/dicom_deidentifier.h) and only the copy is decoded. Empty: $XDG_CACHE_HOME/fedxray/deid,
  // else $HOME/.cache/fedxray/deid. Must be a real folder owned by the agent's user, mode 0700
  // (data/deid_gate.h); anything else is refused.
  std::string deid_cache;
  std::string deid_secret_file;     // HMAC key for pseudonyms; empty: <deid_cache>/site-secret.key,
                                    // created (0600, 32 random bytes) on first use; must be a
                                    // regular file owned by the agent, mode 0600, not a link
  bool allow_burned_in_annotation = false;
  // image_folder: accept manifest image paths that are absolute or contain `..`; off, such rows
  // are skipped so a manifest cannot point the site at files outside its own folder.
  bool allow_paths_outside_manifest_folder = false;
};

struct SiteConfig {
  std::string name;                 // must equal the CN of the site's certificate
  std::string coordinator;          // host:port the site dials out to
  std::string certificate;
  std::string private_key;
  std::string ca_certificate;
  DataSourceConfig data;
  int threads = 0;                  // LibTorch intra-op threads; 0 = library default
  SitePolicy policy;                // the site's veto over jobs
  std::string metrics_listen;       // Prometheus /metrics and /healthz; empty = off
  bool metrics_allow_remote = false;  // metrics_listen may be a non-loopback address
  bool metrics_tls = false;           // TLS with the site's certificate; scrapers need a
                                      // consortium certificate
  // Where jobs with personalization leave this site's personalised models
  // (<job>.personalised.fxm); relative to the config file. They never leave the site.
  std::string personal_model_dir;
};

DataSourceConfig read_data_source_config(ConfigReader data_section);
// A data source from a file: either a site config (its `site.data`) or a file whose top level
// is one `data:` mapping.
DataSourceConfig load_data_source_config(const std::string& file);
SiteConfig load_site_config(const std::string& file);

}  // namespace fedxray
