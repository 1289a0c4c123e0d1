// The researcher's job report (ops/job_report.h): self-contained, escaped, and carrying what a
// paper draft needs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "ops/job_report.h"

using namespace fedxray;

namespace {

nlohmann::json site(const std::string& name, double loss, double pooled_auc, double eps = 0) {
  return {{"site", name},
          {"state", "uploaded"},
          {"samples", 120},
          {"metrics",
           {{"train_loss", loss},
            {"held_out_auc", pooled_auc + 0.01},
            {"global_held_out_auc", pooled_auc},
            {"dp_sgd_epsilon", eps}}}};
}

}  // namespace

TEST_CASE(
    "the job report is one self-contained HTML file with curves, hashes and the "
    "configuration, every text escaped",
    "[report]") {
  const nlohmann::json job = {
      {"name", "erosion-v1"},
      {"status", "completed"},
      {"submitted_by", "CN=alice,OU=admin"},
      {"submitted_at", "2026-11-29T10:00:00.000Z"},
      {"finished_at", "2026-11-29T11:00:00.000Z"},
      {"config_yaml", "job:\n  name: erosion-v1\n  note: <script>x</script>\n"}};
  std::vector<nlohmann::json> rounds;
  for (int r = 1; r <= 3; ++r) {
    rounds.push_back({{"round", r},
                      {"status", "completed"},
                      {"reported", 2},
                      {"model_sha256", std::string(63, 'a') + std::to_string(r)},
                      {"sites",
                       {site("hospital-a", 1.0 / r, 0.6 + 0.1 * r, 0.5 * r),
                        site("hospital-<b>", 0.9 / r, 0.55 + 0.1 * r, 0.4 * r)}}});
  }
  const std::string html = render_job_report(job, rounds, "0.9.0", "2026-11-29T12:00:00Z");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_THAT(html,
             Catch::Contains("Content-Security-Policy") && Catch::Contains("default-src 'none'"));
  // Nothing is fetched: no script, no link, no URL but the SVG namespace.
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  std::string without_namespace = html;
  for (std::size_t at;
       (at = without_namespace.find("http://www.w3.org/2000/svg")) != std::string::npos;) {
    without_namespace.erase(at, 26);
  }
  CHECK(without_namespace.find("http://") == std::string::npos);
  CHECK(without_namespace.find("https://") == std::string::npos);
  // Escaped: the configuration's and a site name's markup are text.
  CHECK_THAT(html, Catch::Contains("&lt;script&gt;x&lt;/script&gt;"));
  CHECK_THAT(html, Catch::Contains("hospital-&lt;b&gt;"));
  // The per-site table at the last round: the pooled model's AUC at the site (0.9 and 0.85).
  CHECK_THAT(html,
             Catch::Contains("<td>hospital-a</td><td>uploaded</td><td>120</td><td>0.900</td>"));
  CHECK_THAT(html, Catch::Contains("<td>0.850</td>"));
  // Curves: loss and AUC per site (two polylines each), privacy spent, every round's hash.
  std::size_t polylines = 0;
  for (std::size_t at = 0; (at = html.find("<polyline", at)) != std::string::npos; ++at)
    ++polylines;
  CHECK(polylines == 6);
  CHECK_THAT(html, Catch::Contains("Privacy spent (epsilon)"));
  for (int r = 1; r <= 3; ++r) {
    CHECK_THAT(html, Catch::Contains(std::string(63, 'a') + std::to_string(r)));
  }
  CHECK_THAT(html, Catch::Contains("fedxray 0.9.0"));
  CHECK_THAT(html, Catch::Contains("Held-out AUC of the pooled model"));

  // An ordinal job's report is judged by QWK, and a job without DP says so.
  std::vector<nlohmann::json> ordinal = {
      {{"round", 1},
       {"sites",
        {{{"site", "s"},
          {"metrics", {{"held_out_kappa", 0.7}, {"global_held_out_kappa", 0.65}}}}}}}};
  const std::string graded = render_job_report(job, ordinal, "0.9.0", "now");
  CHECK_THAT(graded, Catch::Contains("held-out QWK") && Catch::Contains("<td>0.650</td>"));
  CHECK_THAT(graded, Catch::Contains("used no differential privacy"));
  // A multi-label job's sites report per-finding AUCs: the report says macro AUC.
  std::vector<nlohmann::json> findings = {
      {{"round", 1},
       {"sites",
        {{{"site", "s"},
          {"metrics", {{"held_out_auc", 0.61}, {"held_out_label_auc", {0.6, 0.62}}}}}}}}};
  CHECK_THAT(render_job_report(job, findings, "0.9.0", "now"), Catch::Contains("held-out macro AUC"));
  // Values a chart cannot scale are reported, not drawn as broken SVG.
  std::vector<nlohmann::json> huge = {{{"round", 1}, {"sites", {site("s", 1e308, 0.5)}}},
                                      {{"round", 2}, {"sites", {site("s", -1e308, 0.5)}}}};
  const std::string odd = render_job_report(job, huge, "0.9.0", "now");
  CHECK_THAT(odd, Catch::Contains("Values out of range"));
  CHECK(odd.find("points=\", \"") == std::string::npos);
}
