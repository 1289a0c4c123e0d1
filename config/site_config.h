// SiteConfig: a hospital's site agent settings, read from the `site:` mapping of its YAML file
// (the startup kit ships a ready-to-edit one). Relative paths are resolved against the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/http_proxy.h"
#include "config/site_policy.h"

namespace fedxray {

class ConfigReader;

// A hospital PACS as a data source (data/pacs_source.h): which archive, which studies, where the
// labels are, and the local cache of de-identified copies.
struct PacsConfig {
  std::string protocol = "dicomweb";  // "dicomweb" (QIDO-RS + WADO-RS) or "dimse" (C-FIND + C-GET)
  // dicomweb: the service root, e.g. https://pacs.hospital.local/dicom-web
  std::string url;
  std::string ca_certificate;        // https / DICOM TLS: the CA that signed the PACS's certificate
  std::string client_certificate;    // https / DICOM TLS: the agent's certificate and its key
  std::string client_key;            // (https: optional; DICOM TLS: required)
  std::string username;              // basic authentication, with password_file (mode 0600)
  std::string password_file;
  std::string bearer_token_file;     // bearer authentication (mode 0600)
  bool allow_credentials_over_http = false;  // send them over http:// (in clear) anyway
  // dimse: the PACS's address and AE titles
  std::string host;
  int port = 104;
  std::string called_ae = "ANY-SCP";
  std::string calling_ae = "FEDXRAY";
  bool tls = false;                  // dimse: DICOM TLS (PS3.15 Annex B, BCP 195 profile)
  // Which studies: Study Date range (DICOM "YYYYMMDD-YYYYMMDD", either end may be open),
  // modality and body part examined (series level); empty = any.
  std::string study_date;
  std::string modality;
  std::string body_part;
  // Local CSV joining studies to labels: a key column, accession_number or study_instance_uid,
  // and the label column(s) named by data.label_column / label_columns / class_names. Only
  // studies it lists are fetched. It stays at the site, as do the keys.
  std::string labels;
  std::string key_column;            // empty: accession_number or study_instance_uid, whichever is there
  // Local cache of de-identified copies and the record of what was fetched. Empty:
  // <deid cache>/pacs. Must be the agent's own folder (0700), as the de-identification cache.
  std::string cache;
  int64_t cache_max_mb = 20480;      // stop fetching (and say so) beyond this
  int retries = 4;                   // per request, with exponential backoff from retry_seconds
  double retry_seconds = 0.5;
  double timeout_seconds = 60;
};

// Where the site's images come from: "synthetic" (the offline generator), "image_folder"
// (PNG/JPEG/DICOM files listed in a CSV manifest), "npz" (a MedMNIST-style NumPy archive) or
// "pacs" (the hospital's archive over DICOMweb or DIMSE, cached locally).
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
  PacsConfig pacs;                  // source: pacs
  // Set by the pacs source for its own generated manifest, whose files it de-identified when it
  // fetched them: they are not gated a second time. Never read from a config file.
  bool files_already_deidentified = false;
};

struct SiteConfig {
  std::string name;                 // must equal the CN of the site's certificate
  std::string coordinator;          // host:port the site dials out to
  HttpProxyConfig proxy;            // the hospital's outbound HTTP proxy, if it must be used
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
  // Renew the site's certificate by itself (a new key, through the coordinator's Renewal
  // service) once it expires within this many days: checked at start and hourly while waiting
  // for work. 0 = never (renew with `fedxray site --renew-certificate`, or by the admin).
  int renew_certificate_days = 30;
};

DataSourceConfig read_data_source_config(ConfigReader data_section);
// A data source from a file: either a site config (its `site.data`) or a file whose top level
// is one `data:` mapping.
DataSourceConfig load_data_source_config(const std::string& file);
SiteConfig load_site_config(const std::string& file);

}  // namespace fedxray
