// StrategyDecorator: a Strategy that wraps another and, unless it overrides a verb, hands it to
// the inner strategy. A decorator (server momentum, secure aggregation, ...) overrides only the
// verbs it changes.
#pragma once

#include <memory>
#include <utility>

#include "coordinator/aggregation/strategy.h"

namespace fedxray {

class StrategyDecorator : public Strategy {
 public:
  explicit StrategyDecorator(std::unique_ptr<Strategy> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  ModelBlob initial_global(ModelBlob model) const override {
    return inner_->initial_global(std::move(model));
  }
  std::vector<std::string> select_sites(int round, const std::vector<std::string>& available,
                                        int wanted) override {
    return inner_->select_sites(round, available, wanted);
  }
  std::shared_ptr<Aggregator> make_aggregator(const RoundPlan& plan) override {
    return inner_->make_aggregator(plan);
  }
  void update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                     ModelFileWriter& next, const std::string& scratch) override {
    inner_->update_global(aggregate, previous, next, scratch);
  }
  void resume(const ModelFileReader& before, const ModelFileReader& current) override {
    inner_->resume(before, current);
  }
  bool keeps_server_state() const override { return inner_->keeps_server_state(); }
  void save_state(const std::string& path) const override { inner_->save_state(path); }
  std::string restore_state(const std::string& path, const wire::ModelManifest& layout) override {
    return inner_->restore_state(path, layout);
  }

 protected:
  Strategy& inner() { return *inner_; }
  const Strategy& inner() const { return *inner_; }
  // The next global model the inner strategy would publish, by way of a side file at `scratch`
  // (removed again): a server-optimizer step starts from it.
  ModelBlob inner_global(const Aggregator& aggregate, const ModelFileReader& previous,
                         const std::string& scratch);
  // The inner strategy's next global model when it has `layout` (the round's update layout,
  // which under FedBN lacks the tensors the sites keep), by way of a side file at `scratch`.
  ModelBlob inner_global(const Aggregator& aggregate, const ModelFileReader& previous,
                         const wire::ModelManifest& layout, const std::string& scratch);
  // The round's plain aggregate (its result_layout()), by way of a side file at `scratch`.
  static ModelBlob aggregate_result(const Aggregator& aggregate, const std::string& scratch);

 private:
  std::unique_ptr<Strategy> inner_;
};

}  // namespace fedxray
