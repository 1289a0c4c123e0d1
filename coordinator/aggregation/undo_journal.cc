#include "coordinator/aggregation/undo_journal.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.h"

namespace fedxray {

UndoJournal::~UndoJournal() { pool_->release(fd_); }

void UndoJournal::append(const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd_, data, size, off_t(length_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(std::string("cannot write an undo journal: ") + std::strerror(errno));
    data += n;
    size -= std::size_t(n);
    length_ += uint64_t(n);
  }
}

std::size_t UndoJournal::read(uint64_t offset, char* out, std::size_t size) const {
  if (offset >= length_) return 0;
  size = std::size_t(std::min<uint64_t>(size, length_ - offset));
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd_, out + done, size - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(std::string("cannot read an undo journal: ") + std::strerror(errno));
    done += std::size_t(n);
  }
  return done;
}

std::shared_ptr<UndoJournalPool> UndoJournalPool::create(std::string dir) {
  return std::shared_ptr<UndoJournalPool>(new UndoJournalPool(std::move(dir)));
}

UndoJournalPool::~UndoJournalPool() {
  for (int fd : idle_) ::close(fd);
}

std::unique_ptr<UndoJournal> UndoJournalPool::acquire() {
  int fd = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      fd = idle_.back();
      idle_.pop_back();
    }
  }
  if (fd < 0) {
    std::string path = dir_ + "/undo-XXXXXX";
    fd = ::mkstemp(path.data());
    if (fd < 0) {
      throw Error("cannot create an undo journal in " + dir_ + ": " + std::strerror(errno) +
                  "; check that the coordinator's state_dir is writable");
    }
    ::unlink(path.c_str());
  }
  return std::make_unique<UndoJournal>(shared_from_this(), fd);
}

void UndoJournalPool::release(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(fd);
}

}  // namespace fedxray
