// PacsCache: the site's local copy of what it fetched from its PACS, de-identified, and the record
// of it. sync() asks the archive for the studies a job may use, fetches only the instances it
// does not hold yet (incremental), sends each through the de-identification gate
// (data/deid_gate.h) and checks that the copy decodes, before recording it.
//
// Layout of the cache folder (data.pacs.cache, default <deid cache>/pacs; 0700, the agent's own):
//   instances.jsonl  one line per instance fetched or quarantined, appended and fsync'd after its
//                    copy is in place: the only record, so a kill at any moment loses at most the
//                    instance being fetched, which the next sync fetches again
//   incoming/        instances as retrieved (identifiable), deleted once gated; a leftover after a
//                    kill is deleted on the next start
//   quarantine/      instances the gate refused or that do not decode, kept (0600) for the
//                    hospital to look at; their reasons are in instances.jsonl and the status
//   lock             flock'd while a sync runs, so two agents never write one cache (a second
//                    sync is refused; reading the status is not)
// The de-identified copies themselves live in the de-identification cache, like every DICOM
// copy. The UIDs and accession numbers in instances.jsonl join labels to images; they never
// leave the site (only counts do).
//
// Failures: a PacsUnavailable (data/pacs_archive.h) is retried `retries` times with exponential
// backoff. An instance or study that still fails is counted and skipped (tried again next sync);
// three in a row, or a failed study query, and sync() stops and says so in its report, keeping
// everything fetched so far. An instance the gate refuses or that does not decode is quarantined
// (its file counts against the bound); a local problem (a full disk) records nothing and stops
// the sync with an Error. The cache stops fetching at cache_max_mb (copies and quarantined
// files) and reports how many instances it left out. sync() re-reads the record under the lock,
// so what another process recorded meanwhile is not fetched twice.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/site_config.h"
#include "data/deid_gate.h"
#include "data/pacs_archive.h"

namespace fedxray {

struct PacsCacheEntry {
  PacsInstance instance;
  std::string patient;  // keyed pseudonym of the Patient ID
  std::string copy;     // the de-identified copy (empty when quarantined)
  int64_t bytes = 0;    // size of the copy
  bool quarantined = false;
  std::string reason;  // why it was quarantined
};

struct PacsSyncReport {
  std::size_t studies_found = 0;   // matching the query
  std::size_t studies_wanted = 0;  // of those, the ones the labels file lists
  std::size_t instances_found = 0;
  std::size_t already_cached = 0;  // held (or quarantined) before this sync
  std::size_t fetched = 0;
  std::size_t quarantined = 0;  // new quarantines this sync
  std::size_t failed = 0;       // could not be retrieved; tried again next sync
  std::size_t left_out_cache_full = 0;
  int64_t bytes_retrieved = 0;  // as sent by the PACS
  double seconds = 0;
  std::string stopped;  // why the sync stopped early (archive unreachable), or empty
  nlohmann::json to_json() const;
};

class PacsCache {
 public:
  // Opens (creating) the cache folder and reads its record; deletes leftovers of a killed sync.
  explicit PacsCache(const DataSourceConfig& config);
  ~PacsCache();
  PacsCache(const PacsCache&) = delete;
  PacsCache& operator=(const PacsCache&) = delete;

  // `wanted` chooses the studies to fetch (those with labels).
  PacsSyncReport sync(PacsArchive& archive, const PacsQuery& query,
                      const std::function<bool(const PacsStudy&)>& wanted);

  // Every instance recorded, fetched or quarantined, in the order recorded.
  std::vector<PacsCacheEntry> entries() const;
  int64_t cached_bytes() const;
  // Counts, bytes and quarantine reasons (no UIDs, no accession numbers).
  nlohmann::json status() const;
  const std::string& folder() const { return folder_; }
  DeidGate& gate() { return *gate_; }

 private:
  // Reads instances.jsonl into memory; `repair` (only under the lock) cuts a torn last line.
  void load_journal(bool repair);
  void record(const PacsCacheEntry& entry);
  // Fetches, gates, checks and records one instance; false when the archive stayed unreachable
  // for it. Throws Error on a local problem (a full disk), which stops the sync.
  bool fetch_one(PacsArchive& archive, const PacsInstance& instance, PacsSyncReport& report);

  PacsConfig config_;
  std::unique_ptr<DeidGate> gate_;
  std::string folder_;
  std::map<std::string, PacsCacheEntry> by_sop_;  // latest record per SOP Instance UID
  std::vector<std::string> order_;
  int64_t bytes_ = 0;
};

}  // namespace fedxray
