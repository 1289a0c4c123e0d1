// secure_aggregation_cost: what one secure-aggregation round costs each site and the coordinator,
// at several numbers of sites, with the SecAgg+ sparse graph (k = 2 ceil(log2 n) + 2 neighbours)
// or the complete graph. All parties run in this process, one after another, so CPU time is
// measured per party; "bytes sent" is what each site puts on the wire (adverts, sealed shares,
// receipt, masked vector, unmask answer), the masked vector counted separately.
//
//   build/bench/secure_aggregation_cost --sites 10,50,100 --params 11200000 --drop 0.05
//
// The last line is one JSON object.
#include <CLI/CLI.hpp>

#include <time.h>

#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "pki/certificate_authority.h"
#include "privacy/secagg/neighbour_graph.h"
#include "privacy/secagg/secure_aggregation_server.h"
#include "privacy/secagg/secure_aggregation_site.h"

using namespace fedxray;

namespace {

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

std::size_t advert_bytes(const KeyAdvert& a) {
  return a.site.size() + a.encryption_public_key.size() + a.masking_public_key.size() +
         a.certificate_pem.size() + a.signature.size();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"secure_aggregation_cost: per-site CPU and bytes of one SecAgg+ round"};
  std::vector<int> site_counts = {10, 50, 100};
  int64_t params = 11200000;
  double drop = 0.05;
  bool complete = false;
  app.add_option("--sites", site_counts, "numbers of sites to measure")->delimiter(',');
  app.add_option("--params", params, "ring words per masked vector")->capture_default_str();
  app.add_option("--drop", drop, "fraction of sites that drop after sharing")->capture_default_str();
  app.add_flag("--complete", complete, "complete graph (original SecAgg) instead of SecAgg+");
  CLI11_PARSE(app, argc, argv);

  auto ca = CertificateAuthority::create("bench", 30);
  nlohmann::json rows = nlohmann::json::array();
  for (int n : site_counts) {
    SecAggRound round;
    round.job = "bench";
    round.round = 1;
    std::vector<SiteCredentials> creds;
    for (int i = 0; i < n; ++i) {
      const std::string name = "site-" + std::to_string(1000 + i);
      const std::string key = generate_private_key_pem();
      creds.push_back({name, key, ca.issue(key, {name, "site", {}, false, 30}), ca.certificate_pem()});
      round.sites.push_back(name);
    }
    const int k = complete ? n - 1 : NeighbourGraph::recommended_degree(n);
    round.neighbours = k;
    round.threshold = std::max(2, (k + 1) / 2 + 1);
    round.graph_seed = "bench-seed";
    round.vector_words = uint64_t(params);
    const int drops = int(std::floor(drop * n));

    SecAggServer server(round, ca.certificate_pem());
    std::vector<std::unique_ptr<SecAggSite>> sites;
    std::vector<double> cpu(std::size_t(n), 0.0);
    std::vector<std::size_t> sent(std::size_t(n), 0);
    double server_cpu = 0;
    auto timed = [](double& acc, auto&& f) {
      const double t0 = thread_cpu_seconds();
      f();
      acc += thread_cpu_seconds() - t0;
    };
    for (int i = 0; i < n; ++i) {
      KeyAdvert a;
      timed(cpu[std::size_t(i)], [&] {
        sites.push_back(std::make_unique<SecAggSite>(creds[std::size_t(i)], round));
        a = sites.back()->advertise();
      });
      sent[std::size_t(i)] += advert_bytes(a);
      timed(server_cpu, [&] { server.add_advert(a); });
    }
    const auto directory = server.directory();
    for (int i = 0; i < n; ++i) {
      std::vector<SealedShare> shares;
      timed(cpu[std::size_t(i)], [&] { shares = sites[std::size_t(i)]->share_secrets(directory); });
      for (const auto& s : shares) sent[std::size_t(i)] += s.sealed.size() + s.to.size();
      timed(server_cpu, [&] { server.add_shares(sites[std::size_t(i)]->name(), shares); });
    }
    for (int i = 0; i < n; ++i) {
      ShareReceipt r;
      const auto inbox = server.shares_for(sites[std::size_t(i)]->name());
      timed(cpu[std::size_t(i)], [&] { r = sites[std::size_t(i)]->receive_shares(inbox); });
      for (const auto& a : r.accepted) sent[std::size_t(i)] += a.size();
      server.add_receipt(r);
    }
    server.close_receipts();
    std::vector<uint32_t> input(std::size_t(params), 12345u);
    std::set<int> dropping;
    for (int d = 0; d < drops; ++d) dropping.insert(d * n / drops + 1);
    std::vector<double> mask_cpu;
    for (int i = 0; i < n; ++i) {
      if (dropping.count(i)) continue;  // shared its secrets, never sends input
      std::vector<uint32_t> masked = input;
      double c = 0;
      timed(c, [&] {
        sites[std::size_t(i)]->accept_plan(server.plan_for(sites[std::size_t(i)]->name()));
        sites[std::size_t(i)]->mask(masked.data(), masked.size(), 0);
      });
      cpu[std::size_t(i)] += c;
      mask_cpu.push_back(c);
      timed(server_cpu, [&] { server.add_masked_input(sites[std::size_t(i)]->name(), masked); });
    }
    const UnmaskRequest request = server.unmask_request();
    for (const auto& name : request.survivors) {
      auto it = std::find_if(sites.begin(), sites.end(), [&](const auto& s) { return s->name() == name; });
      const std::size_t i = std::size_t(it - sites.begin());
      UnmaskResponse r;
      timed(cpu[i], [&] { r = (*it)->unmask(request); });
      for (const auto& s : r.shares) sent[i] += s.share.size() + s.owner.size() + 1;
      server.add_unmask_response(r);
    }
    std::vector<uint32_t> sum;
    SecAggReport report;
    double finish_cpu = 0;
    timed(finish_cpu, [&] { report = server.finish(sum); });
    server_cpu += finish_cpu;
    const bool exact = report.succeeded && sum.size() == input.size() &&
                       sum[0] == uint32_t(12345u * report.masked.size());
    double cpu_mean = 0, key_cpu_mean = 0, mask_mean = 0;
    std::size_t sent_mean = 0;
    for (int i = 0; i < n; ++i) {
      cpu_mean += cpu[std::size_t(i)] / n;
      sent_mean += sent[std::size_t(i)] / std::size_t(n);
    }
    for (double c : mask_cpu) mask_mean += c / double(mask_cpu.size());
    key_cpu_mean = cpu_mean - mask_mean * double(mask_cpu.size()) / n;
    std::cout << "n=" << n << " k=" << k << " t=" << round.threshold << " dropped "
              << report.dropped.size() << (exact ? ", sum exact" : ", SUM WRONG: " + report.failure)
              << "\n  per site: CPU " << cpu_mean << " s (masking " << mask_mean
              << " s, keys and shares " << key_cpu_mean << " s), bytes sent besides the vector "
              << sent_mean << ", masked vector " << params * 4 << "\n  coordinator CPU "
              << server_cpu << " s (unmasking " << finish_cpu << " s)\n";
    rows.push_back({{"sites", n}, {"neighbours", k}, {"threshold", round.threshold},
                    {"dropped", report.dropped.size()}, {"sum_exact", exact},
                    {"site_cpu_s", cpu_mean}, {"site_mask_cpu_s", mask_mean},
                    {"site_key_cpu_s", key_cpu_mean}, {"site_bytes_besides_vector", sent_mean},
                    {"vector_bytes", params * 4}, {"coordinator_cpu_s", server_cpu},
                    {"coordinator_unmask_cpu_s", finish_cpu}});
  }
  std::cout << nlohmann::json{{"bench", "secure_aggregation_cost"}, {"params", params},
                              {"graph", complete ? "complete" : "secagg+"}, {"rows", rows}}.dump()
            << std::endl;
}
