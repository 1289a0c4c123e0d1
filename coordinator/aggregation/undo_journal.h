// UndoJournal: an anonymous temp file that records the bytes an aggregator folded for one
// upload, so they can be subtracted again if the upload fails after all.
//
// Journals come from an UndoJournalPool and go back to it when destroyed; a pooled file is
// rewritten in place, which costs about a memcpy because its pages are already in the page
// cache (growing a fresh file is 3-8x slower). Files are unlinked at creation, so nothing is
// left on disk after a crash; the pool keeps at most one file per concurrent upload.
// Pool: thread-safe. A journal: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fedxray {

class UndoJournalPool;

class UndoJournal {
 public:
  UndoJournal(std::shared_ptr<UndoJournalPool> pool, int fd) : pool_(std::move(pool)), fd_(fd) {}
  ~UndoJournal();
  UndoJournal(const UndoJournal&) = delete;
  UndoJournal& operator=(const UndoJournal&) = delete;

  // Throws fedxray::Error when the disk refuses the bytes.
  void append(const char* data, std::size_t size);
  uint64_t size() const { return length_; }
  // Reads up to `size` bytes at `offset`; returns how many were read.
  std::size_t read(uint64_t offset, char* out, std::size_t size) const;

 private:
  std::shared_ptr<UndoJournalPool> pool_;
  int fd_;
  uint64_t length_ = 0;
};

class UndoJournalPool : public std::enable_shared_from_this<UndoJournalPool> {
 public:
  static std::shared_ptr<UndoJournalPool> create(std::string dir);
  ~UndoJournalPool();
  // Throws fedxray::Error naming the folder when no temp file can be made there.
  std::unique_ptr<UndoJournal> acquire();

 private:
  explicit UndoJournalPool(std::string dir) : dir_(std::move(dir)) {}
  friend class UndoJournal;
  void release(int fd);

  std::string dir_;
  std::mutex mu_;
  std::vector<int> idle_;
};

}  // namespace fedxray
