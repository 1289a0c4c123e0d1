#include "coordinator/store/checkpoint_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/error.h"

namespace fedxray {
namespace fs = std::filesystem;

CheckpointStore::CheckpointStore(const std::string& state_dir, const std::string& job)
    : dir_((fs::path(state_dir) / job).string()) {
  std::error_code ec;
  fs::create_directories(journal_dir(), ec);
  if (ec) {
    throw Error("cannot create the job state folder " + dir_ + ": " + ec.message() +
                "; check coordinator.state_dir");
  }
}

std::string CheckpointStore::journal_dir() const { return (fs::path(dir_) / "journal").string(); }

std::string CheckpointStore::model_path(int round) const {
  char name[64];
  std::snprintf(name, sizeof(name), "global-round-%04d.fxm", round);
  return (fs::path(dir_) / name).string();
}

std::string CheckpointStore::strategy_state_path(int round) const {
  char name[64];
  std::snprintf(name, sizeof(name), "global-round-%04d.strategy", round);
  return (fs::path(dir_) / name).string();
}

std::string CheckpointStore::pooled_path() const { return (fs::path(dir_) / "pooled.fxm").string(); }

std::string CheckpointStore::metrics_path() const {
  return (fs::path(dir_) / "metrics.jsonl").string();
}

void CheckpointStore::append_metrics(const nlohmann::json& record) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string line = record.dump() + "\n";
  int fd = ::open(metrics_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot open " + metrics_path() + ": " + std::strerror(errno));
  ssize_t n = ::write(fd, line.data(), line.size());
  ::fsync(fd);
  ::close(fd);
  if (n != ssize_t(line.size())) throw Error("cannot append to " + metrics_path());
}

void CheckpointStore::rewrite_metrics(const std::vector<nlohmann::json>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string text;
  for (const auto& r : records) text += r.dump() + "\n";
  write_file_atomically(metrics_path(), text);
}

void CheckpointStore::publish_pooled(int round) {
  std::string blob = read_file(model_path(round));
  write_file_atomically(pooled_path(), blob);
  std::string sha = read_file(model_path(round) + ".sha256");
  write_file_atomically(pooled_path() + ".sha256", sha.substr(0, 64) + "  pooled.fxm\n");
}

}  // namespace fedxray
