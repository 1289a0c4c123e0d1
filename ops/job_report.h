// The job report a researcher attaches to a paper draft: one self-contained HTML file (inline
// CSS and SVG, no script, no external request: its Content Security Policy forbids them) with
// the job's configuration, each site's metrics at the last round (the pooled model at the site,
// its locally trained model, and its personalised model where the job has one), learning curves
// per site (training loss and the task's metric against round), privacy spent per round where the
// job uses differential privacy, each round's model SHA-256 and the software version.
// `fedxray admin report JOB --out report.html` writes it from the admin API (a researcher
// certificate may). Torch-free.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fedxray {

// `job`: name, status, submitted_by, submitted_at, finished_at, config_yaml (strings).
// `rounds`: the job's metrics records (metrics.jsonl, one object per round). Every text from
// them is HTML-escaped.
// The report's body without the document around it (sites, learning curves, privacy, models,
// configuration): the web console shows it inside its own pages. Charts carry inline style
// attributes.
std::string render_job_report_sections(const nlohmann::json& job,
                                       const std::vector<nlohmann::json>& rounds);

// Text made safe for HTML element content and attribute values.
std::string html_escape(const std::string& s);

std::string render_job_report(const nlohmann::json& job, const std::vector<nlohmann::json>& rounds,
                              const std::string& software_version, const std::string& generated_at);

}  // namespace fedxray
