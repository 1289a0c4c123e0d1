#include "coordinator/aggregation/journaled_sink.h"

#include "base/error.h"

namespace fedxray {

JournaledSink::JournaledSink(std::string site, std::string what, std::string limit, uint64_t total,
                             std::unique_ptr<UndoJournal> journal)
    : site_(std::move(site)),
      what_(std::move(what)),
      limit_(std::move(limit)),
      total_(total),
      journal_(std::move(journal)) {}

void JournaledSink::abandon() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!committed_ && !revoked_) undo();
}

void JournaledSink::revoke() {
  std::lock_guard<std::mutex> lock(mu_);
  if (committed_ || revoked_) return;
  undo();
  revoked_ = true;
}

void JournaledSink::fold(uint64_t offset, const char* data, std::size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (revoked_) {
    throw ShareableError("the round closed before the " + what_ + " from " + site_ +
                         " was complete");
  }
  if (committed_) throw ShareableError(what_ + " from " + site_ + " already committed");
  if (offset != received_) {
    throw ShareableError(what_ + " from " + site_ + " arrived out of order: got offset " +
                         std::to_string(offset) + ", expected " + std::to_string(received_));
  }
  if (received_ + size > total_) {
    throw ShareableError(what_ + " from " + site_ + " is longer than the " + limit_ + " (" +
                         std::to_string(total_) + " bytes)");
  }
  const uint64_t first = received_;
  received_ += size;
  add(first, data, size);
}

void JournaledSink::commit() {
  std::unique_lock<std::mutex> owner = lock_owner();
  std::lock_guard<std::mutex> lock(mu_);
  if (revoked_) {
    throw ShareableError("the round closed before the " + what_ + " from " + site_ +
                         " was complete");
  }
  if (committed_) throw ShareableError(what_ + " from " + site_ + " already committed");
  if (received_ != total_) {
    throw ShareableError(what_ + " from " + site_ + " ended after " + std::to_string(received_) +
                         " of " + std::to_string(total_) + " bytes");
  }
  check_commit();
  committed_ = true;
  on_commit();
}

}  // namespace fedxray
