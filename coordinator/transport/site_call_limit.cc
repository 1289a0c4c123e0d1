#include "coordinator/transport/site_call_limit.h"

namespace fedxray {

SiteCallLimit::Slot& SiteCallLimit::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    site_ = std::move(other.site_);
    other.owner_ = nullptr;
  }
  return *this;
}

void SiteCallLimit::Slot::release() {
  if (!owner_) return;
  std::lock_guard<std::mutex> lock(owner_->mu_);
  auto it = owner_->in_flight_.find(site_);
  if (it != owner_->in_flight_.end() && --it->second <= 0) owner_->in_flight_.erase(it);
  owner_ = nullptr;
}

SiteCallLimit::Slot SiteCallLimit::enter(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  int& n = in_flight_[site];
  if (n >= per_site_) return {};
  ++n;
  return Slot(this, site);
}

}  // namespace fedxray
