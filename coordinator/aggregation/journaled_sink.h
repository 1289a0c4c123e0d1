// JournaledSink: the lifecycle both aggregators' update sinks share (aggregator.h's UpdateSink).
//
// fold() checks that bytes arrive in order and stay within the input's length, then hands them to
// add(), which folds them into the aggregate and writes them to the sink's UndoJournal. commit()
// checks that the input is complete and keeps it; revoke() (the round closed) and destruction
// without commit() take the input back out through undo(), which replays the journal. After
// revoke() or commit(), fold() and commit() throw ShareableError naming the site.
//
// A subclass implements add(), undo() and on_commit(); it may hold its owner's lock for commit()
// (lock_owner()) and refuse there (check_commit()). Its destructor must call abandon() first:
// the base cannot reach undo() once the subclass is gone. Thread-safe per sink.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/undo_journal.h"

namespace fedxray {

class JournaledSink : public UpdateSink {
 public:
  void fold(uint64_t offset, const char* data, std::size_t size) final;
  void commit() final;
  void revoke();

 protected:
  // `what` names the input in messages ("update", "masked input"), `limit` what bounds its
  // length ("model", "round's vector"), `total` that length in bytes.
  JournaledSink(std::string site, std::string what, std::string limit, uint64_t total,
                std::unique_ptr<UndoJournal> journal);
  void abandon();

  // Folds `data`, which starts at byte `first_byte` of the input, and journals it. mu_ held.
  virtual void add(uint64_t first_byte, const char* data, std::size_t size) = 0;
  // Takes everything journaled back out of the aggregate. mu_ held.
  virtual void undo() = 0;
  virtual std::unique_lock<std::mutex> lock_owner() { return {}; }
  virtual void check_commit() {}  // owner locked, mu_ held; throws to refuse
  virtual void on_commit() = 0;   // owner locked, mu_ held

  const std::string& site() const { return site_; }
  UndoJournal& journal() { return *journal_; }
  // Hands the journal to the owner (on_commit() of an aggregator that keeps each update whole).
  std::unique_ptr<UndoJournal> release_journal() { return std::move(journal_); }

 private:
  std::string site_;
  std::string what_;
  std::string limit_;
  uint64_t total_;
  std::unique_ptr<UndoJournal> journal_;
  std::mutex mu_;
  uint64_t received_ = 0;
  bool committed_ = false;
  bool revoked_ = false;
};

}  // namespace fedxray
