// SiteCallLimit: how many calls one site may have in flight at the coordinator at once.
//
// A site needs a handful (a long poll, heartbeats, a transfer, a secure-aggregation step); a
// site, or a stolen certificate, that opens calls in a loop would otherwise tie up a server
// thread each. enter() hands out a Slot while the site is under the limit; the Slot gives its
// place back when destroyed. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace fedxray {

class SiteCallLimit {
 public:
  explicit SiteCallLimit(int per_site) : per_site_(per_site) {}

  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept : owner_(other.owner_), site_(std::move(other.site_)) {
      other.owner_ = nullptr;
    }
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class SiteCallLimit;
    Slot(SiteCallLimit* owner, std::string site) : owner_(owner), site_(std::move(site)) {}
    void release();
    SiteCallLimit* owner_ = nullptr;
    std::string site_;
  };

  // An empty Slot when `site` already has per_site calls in flight.
  Slot enter(const std::string& site);
  int per_site() const { return per_site_; }

 private:
  int per_site_;
  std::mutex mu_;
  std::map<std::string, int> in_flight_;
};

}  // namespace fedxray
