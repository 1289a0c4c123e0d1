#include "coordinator/aggregation/adaptive_server_optimizer.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/byte_order.h"
#include "base/error.h"
#include "base/sha256.h"
#include "coordinator/aggregation/server_step.h"
#include "wire/model_file.h"

namespace fedxray {
namespace {

constexpr char kMagic[] = "fedxray-fedopt-1";  // 16 bytes, then kind, count, m, v, sha256

}  // namespace

AdaptiveServerOptimizer::AdaptiveServerOptimizer(ServerOptimizerConfig config)
    : config_(std::move(config)) {
  if (config_.kind != "adam" && config_.kind != "yogi" && config_.kind != "adagrad") {
    throw Error("unknown server optimizer '" + config_.kind + "' (adam, yogi or adagrad)");
  }
}

void AdaptiveServerOptimizer::apply(const ModelFileReader& previous, const ModelBlob& aggregate,
                                    ModelFileWriter& out) {
  if (m_.empty()) {
    m_.assign(element_count(previous.manifest()), 0.0f);
    v_.assign(m_.size(), float(config_.tau * config_.tau));
  }
  const double b1 = config_.beta1, b2 = config_.beta2;
  const bool adagrad = config_.kind == "adagrad", adam = config_.kind == "adam";
  step_from_aggregate("server optimizer", previous, aggregate, out,
                      [&](std::size_t at, double p, double a) {
                        const double d = a - p, d2 = d * d;
                        const double m = b1 * m_[at] + (1 - b1) * d;
                        double v = v_[at];
                        if (adagrad) {
                          v += d2;
                        } else if (adam) {
                          v = b2 * v + (1 - b2) * d2;
                        } else {  // yogi
                          v -= (1 - b2) * d2 * (v > d2 ? 1.0 : v < d2 ? -1.0 : 0.0);
                        }
                        m_[at] = float(m);
                        v_[at] = float(v);
                        return p + config_.learning_rate * m / (std::sqrt(v) + config_.tau);
                      });
}

void AdaptiveServerOptimizer::save(const std::string& path) const {
  std::string body(kMagic, 16);
  std::string kind = config_.kind;
  kind.resize(8, '\0');
  body += kind;
  put_le64(body, m_.size());
  const std::size_t head = body.size();
  body.resize(head + 8 * m_.size());
  std::memcpy(body.data() + head, m_.data(), 4 * m_.size());
  std::memcpy(body.data() + head + 4 * m_.size(), v_.data(), 4 * v_.size());
  body += Sha256::of(body.data(), body.size());
  write_file_atomically(path, body, 0600);
}

std::string AdaptiveServerOptimizer::restore(const std::string& path,
                                             const wire::ModelManifest& layout) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return path + " is missing";
  const std::string body = read_file(path);
  const uint64_t n = element_count(layout);
  const std::size_t expected = 16 + 8 + 8 + 8 * n + 64;
  if (body.size() != expected) {
    return path + " has " + std::to_string(body.size()) + " bytes, expected " +
           std::to_string(expected) + " for " + std::to_string(n) + " elements";
  }
  if (body.compare(0, 16, kMagic, 16) != 0) return path + " is not a FedOpt state file";
  if (Sha256::of(body.data(), body.size() - 64) != body.substr(body.size() - 64)) {
    return path + " fails its checksum";
  }
  std::string kind = body.substr(16, 8);
  kind.erase(kind.find_last_not_of('\0') + 1);
  if (kind != config_.kind) return path + " holds " + kind + " state, not " + config_.kind;
  m_.resize(n);
  v_.resize(n);
  std::memcpy(m_.data(), body.data() + 32, 4 * n);
  std::memcpy(v_.data(), body.data() + 32 + 4 * n, 4 * n);
  return {};
}

}  // namespace fedxray
