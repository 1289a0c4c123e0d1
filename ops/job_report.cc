#include "ops/job_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace fedxray {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string escape(const std::string& s) { return html_escape(s); }

std::string text_of(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string number(double v, int digits = 3) {
  if (!std::isfinite(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// A metric of one site in one round, or NaN.
double site_metric(const nlohmann::json& site, const std::string& key) {
  const auto m = site.find("metrics");
  if (m == site.end() || !m->is_object()) return NAN;
  const auto v = m->find(key);
  return v != m->end() && v->is_number() ? v->get<double>() : NAN;
}

// The task's headline metric, by what the sites report: Dice, quadratic-weighted kappa, macro
// AUC over findings, or AUC.
std::pair<std::string, std::string> headline(const std::vector<nlohmann::json>& rounds) {
  static const std::pair<const char*, const char*> kCandidates[] = {{"dice", "Dice"},
                                                                    {"kappa", "QWK"}};
  for (const auto& [key, name] : kCandidates) {
    for (const auto& r : rounds) {
      for (const auto& s : r.value("sites", nlohmann::json::array())) {
        if (std::isfinite(site_metric(s, std::string("held_out_") + key))) return {key, name};
      }
    }
  }
  // Multi-label sites report per-finding AUCs (an array) and their macro mean as the AUC.
  for (const auto& r : rounds) {
    for (const auto& s : r.value("sites", nlohmann::json::array())) {
      const auto m = s.find("metrics");
      if (m != s.end() && m->is_object() && m->contains("held_out_label_auc")) {
        return {"auc", "macro AUC"};
      }
    }
  }
  return {"auc", "AUC"};
}

const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

// A line chart: one polyline per series of (round, value); NaN points are left out.
std::string chart(const std::string& title,
                  const std::map<std::string, std::vector<std::pair<int, double>>>& series) {
  double lo = INFINITY, hi = -INFINITY;
  int first = 1 << 30, last = 0;
  for (const auto& [name, points] : series) {
    for (const auto& [round, v] : points) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v), hi = std::max(hi, v);
      first = std::min(first, round), last = std::max(last, round);
    }
  }
  std::string out = "<figure><figcaption>" + escape(title) + "</figcaption>";
  if (!std::isfinite(lo)) return out + "<p>No values reported.</p></figure>";
  if (!std::isfinite(hi - lo)) return out + "<p>Values out of range.</p></figure>";
  if (hi - lo <= 1e-9 * std::max(1.0, std::fabs(lo))) hi = lo + std::max(1e-3, std::fabs(lo) * 1e-3);
  const double w = 560, h = 220, left = 56, right = 12, top = 10, bottom = 30;
  auto x = [&](int round) {
    return last == first ? left + (w - left - right) / 2
                         : left + (w - left - right) * double(round - first) / double(last - first);
  };
  auto y = [&](double v) { return top + (h - top - bottom) * (hi - v) / (hi - lo); };
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(w, 0) + "\" height=\"" +
         number(h, 0) + "\" role=\"img\">";
  out += "<rect x=\"" + number(left, 0) + "\" y=\"" + number(top, 0) + "\" width=\"" +
         number(w - left - right, 0) + "\" height=\"" + number(h - top - bottom, 0) +
         "\" fill=\"none\" stroke=\"#999\"/>";
  out += "<text x=\"4\" y=\"" + number(top + 10, 0) + "\">" + number(hi) + "</text>";
  out += "<text x=\"4\" y=\"" + number(h - bottom, 0) + "\">" + number(lo) + "</text>";
  out += "<text x=\"" + number(left, 0) + "\" y=\"" + number(h - 8, 0) + "\">round " +
         std::to_string(first) + "</text>";
  out += "<text x=\"" + number(w - right - 60, 0) + "\" y=\"" + number(h - 8, 0) + "\">round " +
         std::to_string(last) + "</text>";
  std::size_t k = 0;
  std::string legend;
  for (const auto& [name, points] : series) {
    const char* colour = kColours[k++ % (sizeof(kColours) / sizeof(kColours[0]))];
    std::string coords;
    for (const auto& [round, v] : points) {
      if (std::isfinite(v) && std::isfinite(y(v))) {
        coords += number(x(round), 1) + "," + number(y(v), 1) + " ";
      }
    }
    out += "<polyline fill=\"none\" stroke=\"" + std::string(colour) +
           "\" stroke-width=\"2\" points=\"" + coords + "\"/>";
    legend +=
        "<span style=\"color:" + std::string(colour) + "\">&#9632; " + escape(name) + "</span> ";
  }
  return out + "</svg><div>" + legend + "</div></figure>";
}

}  // namespace

std::string render_job_report_sections(const nlohmann::json& job,
                                       const std::vector<nlohmann::json>& rounds) {
  const auto [metric, metric_name] = headline(rounds);
  std::string html;
  // Each site at the last round that has sites: the pooled model at the site (before local
  // training), its locally trained model, its personalised model.
  const nlohmann::json* last = nullptr;
  for (const auto& r : rounds) {
    if (!r.value("sites", nlohmann::json::array()).empty()) last = &r;
  }
  html += "<h2>Sites</h2>";
  if (!last) {
    html += "<p>No site reported.</p>";
  } else {
    bool personal = false;
    for (const auto& s : (*last)["sites"]) {
      personal = personal || std::isfinite(site_metric(s, "personal_held_out_" + metric));
    }
    html += "<p>Round " + std::to_string(last->value("round", 0)) + ", held-out " + metric_name +
            " at each site.</p><table><tr><th>site</th><th>state</th><th>samples</th><th>pooled "
            "model</th><th>after local training</th>" +
            std::string(personal ? "<th>personalised</th>" : "") + "<th>train loss</th></tr>";
    for (const auto& s : (*last)["sites"]) {
      html +=
          "<tr><td>" + escape(text_of(s, "site")) + "</td><td>" + escape(text_of(s, "state")) +
          "</td><td>" +
          (s.contains("samples") && s["samples"].is_number() ? number(s["samples"].get<double>(), 0)
                                                             : "") +
          "</td><td>" + number(site_metric(s, "global_held_out_" + metric)) + "</td><td>" +
          number(site_metric(s, "held_out_" + metric)) + "</td>" +
          (personal ? "<td>" + number(site_metric(s, "personal_held_out_" + metric)) + "</td>"
                    : "") +
          "<td>" + number(site_metric(s, "train_loss"), 4) + "</td></tr>";
    }
    html += "</table>";
  }

  // Learning curves per site.
  std::map<std::string, std::vector<std::pair<int, double>>> loss, score, spent;
  for (const auto& r : rounds) {
    const int round = r.value("round", 0);
    for (const auto& s : r.value("sites", nlohmann::json::array())) {
      const std::string site = text_of(s, "site");
      loss[site].emplace_back(round, site_metric(s, "train_loss"));
      const double pooled = site_metric(s, "global_held_out_" + metric);
      score[site].emplace_back(
          round, std::isfinite(pooled) ? pooled : site_metric(s, "held_out_" + metric));
      const double eps = site_metric(s, "dp_sgd_epsilon");
      if (std::isfinite(eps) && eps > 0) spent[site].emplace_back(round, eps);
    }
    const auto p = r.find("privacy");
    if (p != r.end() && p->is_object() && p->contains("epsilon") && (*p)["epsilon"].is_number()) {
      spent["federation (central DP)"].emplace_back(round, (*p)["epsilon"].get<double>());
    }
  }
  html += "<h2>Learning curves</h2>" + chart("Training loss per site", loss) +
          chart("Held-out " + metric_name + " of the pooled model at each site", score);
  html += "<h2>Privacy</h2>";
  html += spent.empty() ? "<p>The job used no differential privacy.</p>"
                        : chart("Privacy spent (epsilon) against round", spent);

  html +=
      "<h2>Models</h2><table><tr><th>round</th><th>status</th><th>reported</th><th>model "
      "SHA-256</th></tr>";
  for (const auto& r : rounds) {
    html += "<tr><td>" + std::to_string(r.value("round", 0)) + "</td><td>" +
            escape(r.value("status", std::string("completed"))) + "</td><td>" +
            std::to_string(r.value("reported", 0)) + "</td><td><code>" +
            escape(text_of(r, "model_sha256")) + "</code></td></tr>";
  }
  html += "</table><h2>Configuration</h2><pre>" + escape(text_of(job, "config_yaml")) + "</pre>";
  html +=
      "<p>Cross-site evaluation (every site's model on every site's data) comes from "
      "<code>fedxray simulate</code>; a live job reports each site's own held-out metrics.</p>";
  return html;
}

std::string render_job_report(const nlohmann::json& job, const std::vector<nlohmann::json>& rounds,
                              const std::string& software_version,
                              const std::string& generated_at) {
  const std::string name = text_of(job, "name");
  std::string html =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:\">"
      "<title>fedxray job " +
      escape(name) +
      "</title><style>"
      "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
      "th:first-child,td:first-child{text-align:left}pre{background:#f6f6f6;padding:1em;"
      "overflow:auto}code{font-size:90%}figure{margin:1em 0}</style></head><body>";
  html +=
      "<h1>fedxray job " + escape(name) + "</h1><p>Status <b>" + escape(text_of(job, "status")) +
      "</b>, " + std::to_string(rounds.size()) + " rounds recorded. Submitted by " +
      escape(text_of(job, "submitted_by")) + " at " + escape(text_of(job, "submitted_at")) +
      (text_of(job, "finished_at").empty()
           ? ""
           : ", finished at " + escape(text_of(job, "finished_at"))) +
      ". fedxray " + escape(software_version) + "; report made " + escape(generated_at) + ".</p>";

  html += render_job_report_sections(job, rounds);
  return html + "</body></html>\n";
}

}  // namespace fedxray
