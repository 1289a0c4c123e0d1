#include "coordinator/transport/console_server.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/sha256.h"
#include "base/version.h"
#include "coordinator/round/job_queue.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/state_database.h"
#include "coordinator/transport/admin_views.h"
#include "coordinator/transport/enrollment_service.h"
#include "ops/job_report.h"
#include "pki/revocation_list.h"
#include "pki/tls.h"

namespace fedxray {
namespace {

using Clock = std::chrono::system_clock;

constexpr const char* kPolicy =
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

constexpr const char* kStyle = R"css(
body{font-family:sans-serif;margin:0;color:#222}
nav{background:#24394d;padding:.6em 1em}nav a{color:#fff;margin-right:1.2em;text-decoration:none}
nav span{color:#bcd;float:right}
main{max-width:64em;margin:1em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
.error{background:#fde;border:1px solid #c66;padding:.6em;white-space:pre-wrap}
.ok{background:#efe;border:1px solid #6a6;padding:.6em}
pre{background:#f6f6f6;padding:1em;overflow:auto}code{font-size:90%}
progress{width:20em}form.inline{display:inline}
)css";

// Refreshes a job page without a reload: the live round every second, the curves and tables
// whenever another round has been recorded.
constexpr const char* kScript = R"js(
(function () {
  var main = document.querySelector('main[data-job]');
  if (!main) return;
  var job = encodeURIComponent(main.getAttribute('data-job'));
  function text(id, value) { var e = document.getElementById(id); if (e) e.textContent = value; }
  function refresh() {
    fetch('/api/jobs/' + job + '/live', {credentials: 'same-origin'}).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (s) {
      if (!s) return;
      text('status', s.job.status);
      text('round', s.current_round ? String(s.current_round) : '-');
      text('completed', String(s.job.completed_rounds));
      var bar = document.getElementById('progress');
      if (bar) bar.value = s.job.completed_rounds;
      text('left', s.estimated_seconds_left < 0 ? 'unknown'
           : Math.round(s.estimated_seconds_left) + ' s');
      var body = document.getElementById('site-states');
      if (body) {
        while (body.firstChild) body.removeChild(body.firstChild);
        (s.sites || []).forEach(function (site) {
          var tr = document.createElement('tr');
          [site.site, site.state, site.reason].forEach(function (v) {
            var td = document.createElement('td'); td.textContent = v || ''; tr.appendChild(td);
          });
          body.appendChild(tr);
        });
      }
      var done = (s.rounds || []).filter(function (r) { return r.status === 'completed'; });
      if (done.length) {
        var newest = done.reduce(function (a, b) { return a.round > b.round ? a : b; });
        text('model-round', String(newest.round));
        text('model-sha256', newest.model_sha256);
      }
      var recorded = (s.rounds || []).length;
      var sections = document.getElementById('sections');
      if (sections && String(recorded) !== sections.getAttribute('data-rounds')) {
        fetch('/jobs/' + job + '/sections', {credentials: 'same-origin'}).then(function (r) {
          return r.ok ? r.text() : null;
        }).then(function (html) {
          if (html === null) return;
          sections.innerHTML = html;  // server-rendered, every text escaped there
          sections.setAttribute('data-rounds', String(recorded));
        });
      }
    }).catch(function () {});
  }
  refresh();
  setInterval(refresh, 1000);
})();
)js";

std::string escape(const std::string& s) {
  return html_escape(s);
}

std::string url_part(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string json_of(const google::protobuf::Message& m) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &text, options);
  return text;
}

struct Caller {
  std::string common_name;
  std::string role;     // admin, researcher, or what else the certificate says
  std::string refusal;  // why this caller may not use the console; empty: it may
  std::string subject() const { return "CN=" + common_name + ",OU=" + role; }
  bool admin() const { return refusal.empty() && role == "admin"; }
};

std::string name_field(X509* cert, int nid) {
  char buf[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), nid, buf, sizeof buf) < 0) return "";
  return buf;
}

}  // namespace

struct ConsoleServer::Routes {
  ConsoleOptions options;
  JobQueue& queue;
  std::shared_ptr<StateDatabase> state;
  std::shared_ptr<AuditLog> audit;
  std::shared_ptr<const EnrollmentDesk> enrollment;
  std::shared_ptr<RevocationWatcher> revocation;

  Caller caller(const httplib::Request& req) const {
    Caller c;
    X509* cert = req.ssl ? SSL_get1_peer_certificate(const_cast<SSL*>(req.ssl)) : nullptr;
    if (!cert) {
      c.refusal =
          "no client certificate: import your kit's .p12 file into the browser (it holds "
          "your consortium certificate and key) and open the console again";
      return c;
    }
    c.common_name = name_field(cert, NID_commonName);
    c.role = name_field(cert, NID_organizationalUnitName);
    std::string pem;
    if (BIO* bio = BIO_new(BIO_s_mem())) {
      PEM_write_bio_X509(bio, cert);
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio, &data);
      pem.assign(data, std::size_t(n));
      BIO_free(bio);
    }
    X509_free(cert);
    if (SSL_get_verify_result(req.ssl) != X509_V_OK) {
      c.refusal = "the client certificate is not from this consortium's CA";
    } else if (revocation && revocation->is_revoked(pem)) {
      c.refusal = "the certificate of " + c.common_name + " has been revoked by the consortium";
    } else if (c.role != "admin" && c.role != "researcher") {
      c.refusal = "the console is for admin and researcher certificates; " + c.common_name +
                  " holds a " + c.role + " certificate";
    }
    return c;
  }

  std::string page(const Caller& who, const std::string& title, const std::string& body,
                   const std::string& main_attributes = "") const {
    std::string nav = "<a href=\"/jobs\">Jobs</a>";
    if (who.admin()) {
      nav +=
          "<a href=\"/sites\">Sites</a><a href=\"/enrollments\">Enrolment</a>"
          "<a href=\"/audit\">Audit log</a>";
    }
    return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
           escape(title) +
           " - fedxray</title><link rel=\"stylesheet\" href=\"/console.css\">"
           "<script src=\"/console.js\" defer></script></head><body><nav>" +
           nav + "<span>" + escape(who.subject()) + " - fedxray " + escape(kVersion) +
           "</span></nav><main" + main_attributes + "><h1>" + escape(title) + "</h1>" + body +
           "</main></body></html>\n";
  }

  static void send_html(httplib::Response& res, const std::string& html, int status = 200) {
    res.status = status;
    res.set_header("Content-Security-Policy", kPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-store");
    res.set_content(html, "text/html; charset=utf-8");
  }

  void refuse(const httplib::Request& req, httplib::Response& res, const Caller& who) const {
    spdlog::warn("console {} {} refused: {}", req.method, req.path, who.refusal);
    // A consortium certificate refused an action is recorded; anonymous callers are only logged
    // (they must not be able to fill the audit log).
    if (req.method == "POST" && !who.common_name.empty()) {
      audit->record(who.subject(), "console " + req.path.substr(0, 200), "console", "refused",
                    who.refusal);
    }
    send_html(res,
              "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Refused - "
              "fedxray</title></head><body><h1>Refused</h1><p id=\"refusal\">" +
                  escape(who.refusal) + "</p></body></html>\n",
              403);
  }

  // A POST from another origin (a page elsewhere riding on the browser's certificate) is refused.
  static bool same_origin(const httplib::Request& req) {
    const std::string origin = req.get_header_value("Origin");
    return !origin.empty() && origin == "https://" + req.get_header_value("Host");
  }

  // Runs `fn` for callers allowed by `need` ("read": admins and researchers, "admin": admins).
  template <typename Fn>
  httplib::Server::Handler gate(const char* need, Fn fn) {
    return [this, need, fn](const httplib::Request& req, httplib::Response& res) {
      Caller who = caller(req);
      if (who.refusal.empty() && std::string(need) == "admin" && !who.admin()) {
        who.refusal =
            "this needs an admin certificate (OU=admin); researchers may read jobs, "
            "their curves and metrics and download pooled models";
      }
      if (who.refusal.empty() && req.method == "POST" && !same_origin(req)) {
        who.refusal = "a form from another origin; use the console's own pages";
      }
      if (!who.refusal.empty()) return refuse(req, res, who);
      try {
        fn(req, res, who);
      } catch (const UnknownJob& e) {
        send_html(res, page(who, "Not found", "<p class=\"error\">" + escape(e.what()) + "</p>"),
                  404);
      } catch (const std::exception& e) {
        send_html(res, page(who, "Error", "<p class=\"error\">" + escape(e.what()) + "</p>"), 400);
      }
    };
  }

  std::string jobs_body(const Caller& who, const std::string& message, bool failed) const {
    std::string html;
    if (!message.empty()) {
      html += "<div id=\"" + std::string(failed ? "error" : "notice") + "\" class=\"" +
              (failed ? "error" : "ok") + "\">" + escape(message) + "</div>";
    }
    html +=
        "<table id=\"jobs\"><tr><th>job</th><th>status</th><th>rounds</th><th>submitted</th>"
        "<th>by</th><th>message</th></tr>";
    for (const auto& j : state->jobs()) {
      html += "<tr><td><a href=\"/jobs/" + url_part(j.name) + "\">" + escape(j.name) +
              "</a></td><td>" + escape(j.status) + "</td><td>" +
              std::to_string(j.completed_rounds) + " / " + std::to_string(j.rounds) + "</td><td>" +
              escape(j.submitted_at) + "</td><td>" + escape(j.submitted_by) + "</td><td>" +
              escape(j.message) + "</td></tr>";
    }
    html += "</table>";
    if (who.admin()) {
      html +=
          "<h2>Submit a job</h2><form id=\"submit\" method=\"post\" action=\"/jobs\" "
          "enctype=\"multipart/form-data\"><input type=\"file\" name=\"job\" "
          "accept=\".yaml,.yml\" required> <button type=\"submit\">Validate and queue</button>"
          "</form>";
    }
    return html;
  }

  std::string job_body(const Caller& who, const std::string& name) const {
    const admin::JobStatusReply s = job_status_view(queue, *state, name);
    const auto& job = s.job();
    std::string html =
        "<p>Status <b id=\"status\">" + escape(job.status()) + "</b>; round <b id=\"round\">" +
        (s.current_round() ? std::to_string(s.current_round()) : std::string("-")) +
        "</b>; <span id=\"completed\">" + std::to_string(job.completed_rounds()) + "</span> of " +
        std::to_string(job.rounds()) + " rounds completed <progress id=\"progress\" max=\"" +
        std::to_string(job.rounds()) + "\" value=\"" + std::to_string(job.completed_rounds()) +
        "\"></progress>; time left <span id=\"left\">" +
        (s.estimated_seconds_left() < 0
             ? std::string("unknown")
             : std::to_string(int64_t(s.estimated_seconds_left())) + " s") +
        "</span>. Submitted by " + escape(job.submitted_by()) + ".</p>";
    html +=
        "<h2>This round</h2><table><thead><tr><th>site</th><th>state</th><th>reason</th></tr>"
        "</thead><tbody id=\"site-states\">";
    for (const auto& site : s.sites()) {
      html += "<tr><td>" + escape(site.site()) + "</td><td>" + escape(site.state()) + "</td><td>" +
              escape(site.reason()) + "</td></tr>";
    }
    html += "</tbody></table>";
    int last = 0;
    std::string sha;
    for (const auto& r : s.rounds()) {
      if (r.status() == "completed" && int(r.round()) > last) {
        last = int(r.round());
        sha = r.model_sha256();
      }
    }
    if (last > 0) {
      html +=
          "<p><a id=\"download\" href=\"/jobs/" + url_part(name) +
          "/model\">Download the pooled model</a> (TorchScript of round <span id=\"model-round\">" +
          std::to_string(last) + "</span>; model SHA-256 <code id=\"model-sha256\">" + escape(sha) +
          "</code>; the file's own SHA-256 comes in its X-Content-SHA256 header)</p>";
    }
    if (who.admin() && (job.status() == "running" || job.status() == "queued")) {
      html += "<form id=\"abort\" class=\"inline\" method=\"post\" action=\"/jobs/" +
              url_part(name) + "/abort\"><button type=\"submit\">Abort the job</button></form>";
    }
    html += "<div id=\"sections\" data-rounds=\"" + std::to_string(s.rounds_size()) + "\">" +
            sections(name) + "</div>";
    return html;
  }

  std::string sections(const std::string& name) const {
    const auto row = state->job(name);
    if (!row) throw UnknownJob("no job named '" + name + "'");
    nlohmann::json job = {{"name", row->name}, {"config_yaml", row->config_yaml}};
    std::vector<nlohmann::json> records;
    for (const auto& r : state->rounds(name)) {
      if (r.record.is_object()) records.push_back(r.record);
    }
    return render_job_report_sections(job, records);
  }

  std::string sites_body() const {
    const auto reply = site_registry_view(*state, enrollment.get(), options.heartbeat_timeout_s);
    std::string html =
        "<table id=\"sites\"><tr><th>site</th><th>connected</th><th>last seen</th>"
        "<th>version</th><th>certificate</th><th>expires</th></tr>";
    for (const auto& s : reply.sites()) {
      std::string expires = "unknown";
      if (s.certificate_not_after()) {
        expires = s.certificate_days_left() < 0
                      ? "EXPIRED"
                      : "in " + std::to_string(s.certificate_days_left()) + " days" +
                            (s.certificate_renewal_due() ? " (renew)" : "");
      }
      html += "<tr><td>" + escape(s.name()) + "</td><td>" + (s.connected() ? "yes" : "no") +
              "</td><td>" + escape(s.last_seen()) + "</td><td>" + escape(s.version()) +
              "</td><td><code>" + escape(s.certificate_sha256().substr(0, 16)) +
              "</code></td><td>" + escape(expires) + "</td></tr>";
    }
    return html + "</table>";
  }

  std::string enrollments_body() const {
    std::string html =
        "<table id=\"enrollments\"><tr><th>site</th><th>status</th><th>requested"
        "</th><th>decided</th><th>by</th><th>reason</th><th></th></tr>";
    for (const auto& e : enrollment->book->list()) {
      html += "<tr><td>" + escape(e.name) + "</td><td>" + escape(e.status) + "</td><td>" +
              escape(e.requested_at) + "</td><td><code>" + escape(e.csr_sha256) +
              "</code></td><td>" + escape(e.decided_at) + "</td><td>" + escape(e.decided_by) +
              "</td><td>" + escape(e.reason) + "</td><td>";
      if (e.status == "pending") {
        const std::string base = "/enrollments/" + url_part(e.name);
        html +=
            "<form class=\"inline\" method=\"post\" action=\"" + base +
            "/approve\"><input name=\"csr_sha256\" size=\"20\" placeholder=\"request SHA-256 from "
            "the site\"><button type=\"submit\">Approve</button></form> <form "
            "class=\"inline\" method=\"post\" action=\"" +
            base +
            "/reject\"><input name=\"reason\" placeholder=\"reason\"><button "
            "type=\"submit\">Reject</button></form>";
      }
      html += "</td></tr>";
    }
    return html + "</table>";
  }

  std::string audit_body() const {
    const AuditVerdict verdict = audit->verify();
    std::string html =
        verdict.intact ? "<p id=\"verdict\" class=\"ok\">The hash chain of all " +
                             std::to_string(verdict.records) + " records verifies.</p>"
                       : "<p id=\"verdict\" class=\"error\">The audit log FAILED verification: " +
                             escape(verdict.problem) + "</p>";
    html +=
        "<table><tr><th>seq</th><th>at</th><th>actor</th><th>action</th><th>target</th>"
        "<th>outcome</th><th>detail</th></tr>";
    const auto records = audit->records(500);
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
      html += "<tr><td>" + std::to_string(it->seq) + "</td><td>" + escape(it->at) + "</td><td>" +
              escape(it->actor) + "</td><td>" + escape(it->action) + "</td><td>" +
              escape(it->target) + "</td><td>" + escape(it->outcome) + "</td><td>" +
              escape(it->detail) + "</td></tr>";
    }
    return html + "</table><p>Newest first, the last 500.</p>";
  }

  void install(httplib::Server& s) {
    s.Get("/console.css", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kStyle, "text/css");
    });
    s.Get("/favicon.ico",
          [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    s.Get("/console.js", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kScript, "application/javascript");
    });
    s.Get("/", gate("read", [](const httplib::Request&, httplib::Response& res, const Caller&) {
            res.set_redirect("/jobs");
          }));
    s.Get("/jobs",
          gate("read", [this](const httplib::Request&, httplib::Response& res, const Caller& who) {
            send_html(res, page(who, "Jobs", jobs_body(who, "", false)));
          }));
    s.Post("/jobs", gate("admin", [this](const httplib::Request& req, httplib::Response& res,
                                         const Caller& who) {
             const auto file = req.get_file_value("job");
             const std::string source = file.filename.empty() ? "submitted job" : file.filename;
             try {
               const std::string job = queue.submit(file.content, source, who.subject());
               audit->record(who.subject(), "submit", source, "ok", "from the console");
               send_html(res, page(who, "Jobs", jobs_body(who, "job " + job + " queued", false)));
             } catch (const std::exception& e) {
               audit->record(who.subject(), "submit", source, "refused", e.what());
               send_html(res, page(who, "Jobs", jobs_body(who, e.what(), true)), 400);
             }
           }));
    s.Get(R"(/jobs/([a-z0-9][a-z0-9._-]*))",
          gate("read", [this](const httplib::Request& req, httplib::Response& res,
                              const Caller& who) {
            const std::string name = req.matches[1];
            const std::string body = job_body(who, name);
            send_html(res, page(who, "Job " + name, body, " data-job=\"" + escape(name) + "\""));
          }));
    s.Get(R"(/jobs/([a-z0-9][a-z0-9._-]*)/sections)",
          gate("read", [this](const httplib::Request& req, httplib::Response& res, const Caller&) {
            send_html(res, sections(req.matches[1]));
          }));
    s.Get(R"(/api/jobs/([a-z0-9][a-z0-9._-]*)/live)",
          gate("read", [this](const httplib::Request& req, httplib::Response& res, const Caller&) {
            res.set_header("Cache-Control", "no-store");
            res.set_content(json_of(job_status_view(queue, *state, req.matches[1])),
                            "application/json");
          }));
    s.Post(R"(/jobs/([a-z0-9][a-z0-9._-]*)/abort)",
           gate("admin",
                [this](const httplib::Request& req, httplib::Response& res, const Caller& who) {
                  const std::string name = req.matches[1];
                  if (!state->job(name)) throw UnknownJob("no job named '" + name + "'");
                  queue.abort(name, who.subject());
                  audit->record(who.subject(), "abort", "job " + name, "ok", "from the console");
                  res.set_redirect("/jobs/" + url_part(name), 303);
                }));
    s.Get(R"(/jobs/([a-z0-9][a-z0-9._-]*)/model)",
          gate("read", [this](const httplib::Request& req, httplib::Response& res,
                              const Caller& who) { download(req.matches[1], res, who); }));
    s.Get("/sites",
          gate("admin", [this](const httplib::Request&, httplib::Response& res, const Caller& who) {
            send_html(res, page(who, "Sites", sites_body()));
          }));
    s.Get("/enrollments",
          gate("admin", [this](const httplib::Request&, httplib::Response& res, const Caller& who) {
            send_html(res, page(who, "Enrolment requests", enrollments_body()));
          }));
    s.Post(R"(/enrollments/([a-z0-9-]+)/(approve|reject))",
           gate("admin", [this](const httplib::Request& req, httplib::Response& res,
                                const Caller& who) {
             const std::string name = req.matches[1];
             const std::string verb = req.matches[2];
             try {
               if (verb == "approve") {
                 enrollment->approve(name, "", who.subject(), req.get_param_value("csr_sha256"));
               } else {
                 enrollment->book->reject(name, req.get_param_value("reason"), who.subject());
               }
               audit->record(who.subject(), verb, "site " + name, "ok", "from the console");
               res.set_redirect("/enrollments", 303);
             } catch (const std::exception& e) {
               audit->record(who.subject(), verb, "site " + name, "refused", e.what());
               send_html(res,
                         page(who, "Enrolment requests",
                              "<p id=\"error\" class=\"error\">" + escape(e.what()) + "</p>" +
                                  enrollments_body()),
                         400);
             }
           }));
    s.Get("/audit",
          gate("admin", [this](const httplib::Request&, httplib::Response& res, const Caller& who) {
            send_html(res, page(who, "Audit log", audit_body()));
          }));
  }

  void download(const std::string& name, httplib::Response& res, const Caller& who) {
    const int round = downloadable_round(*state, name, 0);
    const ExportedModel exported(options.state_dir, name, round, options.export_torchscript);
    const std::string& pt = exported.path();
    const std::string bytes = read_file(pt);
    const std::string sha = Sha256::of(bytes.data(), bytes.size());
    audit->record(who.subject(), "download", "job " + name + " round " + std::to_string(round),
                  "ok", "from the console, SHA-256 " + sha);
    res.set_header("Content-Disposition",
                   "attachment; filename=\"" + name + "-round-" + std::to_string(round) + ".pt\"");
    res.set_header("X-Content-SHA256", sha);
    res.set_content(bytes, "application/octet-stream");
  }
};

ConsoleServer::ConsoleServer(ConsoleOptions options, JobQueue& queue,
                             std::shared_ptr<StateDatabase> state, std::shared_ptr<AuditLog> audit,
                             std::shared_ptr<const EnrollmentDesk> enrollment,
                             std::shared_ptr<RevocationWatcher> revocation)
    : routes_(new Routes{std::move(options), queue, std::move(state), std::move(audit),
                         std::move(enrollment), std::move(revocation)}) {
  const ConsoleOptions& o = routes_->options;
  server_ = std::make_unique<httplib::SSLServer>([&o](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(&ctx, o.certificate.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(&ctx, o.private_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(&ctx, o.ca_certificate.c_str(), nullptr) != 1) {
      return false;
    }
    SSL_CTX_set_client_CA_list(&ctx, SSL_load_client_CA_file(o.ca_certificate.c_str()));
    // A certificate is asked for but not required, so that a browser without one gets a page
    // saying what to do rather than a TLS error; one that does not verify fails the handshake.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
    // Browsers resume TLS sessions on their next connections; with client certificates
    // OpenSSL refuses a resumption (a protocol error in the browser) unless the sessions are
    // bound to a context. A resumed session keeps its verified client certificate.
    static const unsigned char kSessionContext[] = "fedxray-console";
    SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof kSessionContext - 1);
    return true;
  });
  if (!server_->is_valid()) {
    throw Error("the console cannot use " + o.certificate + " / " + o.private_key +
                " (coordinator.console_listen needs the coordinator's certificate and key)");
  }
  server_->set_payload_max_length(4 << 20);
  routes_->install(*server_);
  const std::size_t colon = o.listen.rfind(':');
  std::string host = o.listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int wanted = std::atoi(o.listen.c_str() + colon + 1);
  port_ = wanted == 0                           ? server_->bind_to_any_port(host)
          : server_->bind_to_port(host, wanted) ? wanted
                                                : -1;
  if (port_ <= 0) {
    throw Error("cannot listen on " + o.listen +
                " for the console; is the port in use or the "
                "address wrong? (coordinator.console_listen)");
  }
  // Idle keep-alive connections hold a worker thread each: keep them few and short.
  server_->set_keep_alive_max_count(20);
  server_->set_keep_alive_timeout(2);
  server_->set_read_timeout(10);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the server runs would be lost (and shutdown() would wait forever).
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("web console on https://{}:{}/ (client certificates from the consortium CA)", host,
               port_);
}

ConsoleServer::~ConsoleServer() {
  shutdown();
}

void ConsoleServer::shutdown() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fedxray
