// Aggregator: folds site updates, streamed chunk by chunk, into one pooled model.
//
// Contract: begin_update() returns an UpdateSink for one site's upload. The sink's fold() takes
// the update's raw bytes in order and adds them into the running aggregate at once, so memory
// stays O(model) however many sites report. commit() keeps the update in the aggregate; a sink
// destroyed without commit() (broken stream, bad checksum, NaN values) takes its contribution
// back out, so a failed upload never leaves a trace in the pooled model.
// Thread-safe: several sinks may fold concurrently. close() ends intake: every update not yet
// committed is taken back out at once (without waiting for its stream), and later fold() or
// commit() calls on it throw. write_result() requires close() first, so a pooled model only
// ever contains committed updates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "wire/model_blob.h"

namespace fedxray {

class ModelFileWriter;

class UpdateSink {
 public:
  virtual ~UpdateSink() = default;
  // Throws fedxray::Error on out-of-order bytes, overflow past the manifest, or non-finite values.
  virtual void fold(uint64_t offset, const char* data, std::size_t size) = 0;
  // Requires every byte of the model to have been folded.
  virtual void commit() = 0;
};

class Aggregator {
 public:
  virtual ~Aggregator() = default;
  // weight: the site's sample count for FedAvg.
  virtual std::unique_ptr<UpdateSink> begin_update(const std::string& site, double weight) = 0;
  virtual void close() = 0;
  virtual int committed_updates() const = 0;
  virtual double committed_weight() const = 0;
  // The layout write_result() streams: the round's update layout (RoundPlan::layout).
  virtual const wire::ModelManifest& result_layout() const = 0;
  // Streams the pooled model into `out` (layout as given at construction). Throws if close()
  // has not run or nothing was committed.
  virtual void write_result(ModelFileWriter& out) const = 0;
};

}  // namespace fedxray
