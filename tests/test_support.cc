#include "tests/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "config/consortium_config.h"
#include "base/error.h"
#include "pki/provisioning.h"

namespace fedxray::testing {

std::string shared_data_dir() {
  const char* env = std::getenv("FEDXRAY_SHARED_DATA");
  return env && *env ? std::string(env) : std::string(FEDXRAY_SOURCE_DIR "/../shared/data");
}
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "fedxray-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw Error("mkdtemp failed");
  path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

std::string kits_dir(bool other_ca) {
  static TempDir main_dir, other_dir;
  static bool made[2] = {false, false};
  TempDir& dir = other_ca ? other_dir : main_dir;
  if (!made[other_ca]) {
    ConsortiumConfig c;
    c.name = other_ca ? "intruders" : "test";
    c.coordinator_hosts = {"127.0.0.1", "localhost"};
    c.coordinator_port = 0;
    c.sites = {"site-a", "site-b", "site-c", "site-d", "site-e"};
    c.admins = {"alice"};
    c.researchers = {"rita"};
    provision_consortium(c, dir.path, false);
    made[other_ca] = true;
  }
  return dir.path;
}

TlsFiles kit(const std::string& name, bool other_ca) {
  const std::string d = kits_dir(other_ca) + "/" + name + "/";
  return {d + name + ".crt", d + name + ".key", d + "ca.crt"};
}

ModelBlob model_of(const std::vector<float>& weights, int64_t counter) {
  ModelBlob blob;
  blob.manifest.set_model("test-model");
  append_tensor(blob.manifest, "w", wire::FLOAT32, {int64_t(weights.size())});
  append_tensor(blob.manifest, "counter", wire::INT64, {1});
  blob.bytes.resize(blob.manifest.total_bytes());
  std::memcpy(blob.bytes.data(), weights.data(), weights.size() * 4);
  std::memcpy(blob.bytes.data() + weights.size() * 4, &counter, 8);
  return blob;
}

ModelBlob make_model(const std::vector<int64_t>& float_sizes, uint64_t seed) {
  ModelBlob blob;
  blob.manifest.set_model("test-model");
  blob.manifest.set_classes(2);
  blob.manifest.set_image_size(8);
  int i = 0;
  for (int64_t n : float_sizes) {
    append_tensor(blob.manifest, "layer" + std::to_string(i++) + ".weight", wire::FLOAT32, {n});
  }
  append_tensor(blob.manifest, "counter", wire::INT64, {1});
  blob.bytes.resize(blob.manifest.total_bytes());
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  auto next = [&state] {  // xorshift: fast enough for multi-GiB models
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return float(int64_t(state >> 40) - (int64_t(1) << 23)) / float(1 << 22);
  };
  for (const auto& t : blob.manifest.tensors()) {
    char* p = blob.bytes.data() + t.offset();
    if (t.dtype() == wire::FLOAT32) {
      for (uint64_t k = 0; k < t.nbytes() / 4; ++k) {
        float v = next();
        std::memcpy(p + 4 * k, &v, 4);
      }
    } else {
      int64_t v = int64_t(seed % 1000);
      std::memcpy(p, &v, 8);
    }
  }
  blob.seal();
  return blob;
}

JobConfig two_round_job(const std::string& name, int classes, int image_size, int sites,
                        int batch_size) {
  JobConfig job;
  job.name = name;
  job.model = "cnn-small";
  job.classes = classes;
  job.image_size = image_size;
  job.rounds = 2;
  job.sites_per_round = sites;
  job.min_sites = sites;
  job.round_deadline_s = 120;
  job.batch_size = batch_size;
  return job;
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

}  // namespace fedxray::testing
