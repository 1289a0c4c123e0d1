// `fedxray admin enrollment-token | enrollments | approve | reject`: a consortium admin admits
// new sites whose keys never leave them (the site side is `fedxray enroll`).
#include <CLI/CLI.hpp>

#include <iostream>

#include "base/atomic_file.h"
#include "cli/admin_client.h"
#include "cli/text_table.h"
#include "config/admin_config.h"

namespace fedxray {
namespace {

std::string host_of(const std::string& target) {
  if (!target.empty() && target.front() == '[') return target.substr(0, target.find(']') + 1);
  return target.substr(0, target.rfind(':'));
}

std::string port_of(const std::string& listen) {
  return listen.substr(listen.rfind(':') + 1);
}

void print_enrollment(const admin::Enrollment& e) {
  std::cout << "site " << e.name() << ": " << e.status();
  if (!e.decided_by().empty()) std::cout << " by " << e.decided_by() << " at " << e.decided_at();
  if (!e.reason().empty()) std::cout << " (" << e.reason() << ")";
  std::cout << "\n";
  if (e.status() == "approved") {
    std::cout << "it is admitted from now on (no restart); `fedxray enroll` at the site collects "
                 "its certificate, SHA-256 "
              << e.certificate_sha256() << "\n";
  }
}

}  // namespace

void add_enrollment_subcommands(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  auto* token = cmd.add_subcommand(
      "enrollment-token", "Issue a one-time token with which a new site sends its signing request");
  auto token_site = std::make_shared<std::string>();
  auto hours = std::make_shared<double>(72);
  token->add_option("site", *token_site, "the new site's name")->required();
  token->add_option("--valid-hours", *hours, "how long the token can be used")
      ->check(CLI::Range(0.01, 720.0));
  token->callback([=] {
    admin::EnrollmentTokenRequest request;
    request.set_name(*token_site);
    request.set_valid_hours(*hours);
    const auto reply =
        ask(*flags, &admin::Admin::Stub::IssueEnrollmentToken, request, "enrollment-token refused");
    if (flags->json) return print_json(reply);
    const std::string target = admin_target(*flags);
    std::cout << "enrolment token for site " << *token_site << " (one use, valid until "
              << reply.expires_at() << "; it is not shown again):\n  " << reply.token() << "\n";
    if (reply.enrollment_listen().empty()) {
      std::cout << "The coordinator has no enrolment port (coordinator.enrollment_listen): the "
                   "site hands its signing request over out of band instead (fedxray enroll "
                   "without --token, then fedxray provision sign).\n";
      return;
    }
    std::cout
        << "Give the site the token and the consortium CA certificate (ca.crt from your "
           "kit) over a channel you trust; it runs:\n  fedxray enroll --name "
        << *token_site << " --coordinator " << target << " --enrollment " << host_of(target) << ":"
        << port_of(reply.enrollment_listen()) << " --ca ca.crt --token-file token.txt --out kit\n"
        << "It prints its request's SHA-256; once it tells you that (by phone, say), approve:\n"
        << "  fedxray admin --kit ... approve " << *token_site
        << " --request-sha256 <the SHA-256 the site read out>\n";
  });

  cmd.add_subcommand("enrollments", "Enrolment requests: pending, approved, rejected")
      ->callback([=] {
        const auto reply = ask(*flags, &admin::Admin::Stub::ListEnrollments,
                               admin::ListEnrollmentsRequest(), "enrollments");
        if (flags->json) return print_json(reply);
        TextTable t({"SITE", "STATUS", "REQUESTED", "DECIDED", "BY", "REQUEST SHA-256", "REASON"});
        for (const auto& e : reply.enrollments()) {
          t.add({e.name(), e.status(), e.requested_at(), e.decided_at(), e.decided_by(),
                 e.csr_sha256(), e.reason()});
        }
        t.print(std::cout);
      });

  auto* approve = cmd.add_subcommand(
      "approve",
      "Approve a site's enrolment: the coordinator signs its request (with the CA key "
      "it holds) or takes the certificate the offline CA signed; admitted at once");
  auto approve_site = std::make_shared<std::string>();
  auto certificate = std::make_shared<std::string>();
  auto request_sha = std::make_shared<std::string>();
  approve->add_option("site", *approve_site, "the site's name")->required();
  approve->add_option("--request-sha256", *request_sha,
                      "the SHA-256 of the request that `fedxray enroll` printed at the site: the "
                      "approval is refused if the pending request is another one");
  approve
      ->add_option("--certificate", *certificate,
                   "the certificate `fedxray provision sign` issued for its request (when the "
                   "CA key is kept offline)")
      ->check(CLI::ExistingFile);
  approve->callback([=] {
    admin::EnrollmentDecision request;
    request.set_name(*approve_site);
    if (!certificate->empty()) request.set_certificate_pem(read_file(*certificate));
    request.set_csr_sha256(*request_sha);
    const auto reply =
        ask(*flags, &admin::Admin::Stub::ApproveEnrollment, request, "approve refused");
    if (flags->json) return print_json(reply);
    print_enrollment(reply);
  });

  auto* reject = cmd.add_subcommand("reject", "Reject a pending enrolment request");
  auto reject_site = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  reject->add_option("site", *reject_site, "the site's name")->required();
  reject->add_option("--reason", *reason, "told to the site");
  reject->callback([=] {
    admin::EnrollmentDecision request;
    request.set_name(*reject_site);
    request.set_reason(*reason);
    const auto reply =
        ask(*flags, &admin::Admin::Stub::RejectEnrollment, request, "reject refused");
    if (flags->json) return print_json(reply);
    print_enrollment(reply);
  });

  auto* remove = cmd.add_subcommand(
      "remove-site",
      "Take a site off the roster (a lost or stolen key, a site leaving): refused "
      "from its next join and unable to renew until it enrols again");
  auto remove_site = std::make_shared<std::string>();
  auto remove_reason = std::make_shared<std::string>();
  remove->add_option("site", *remove_site, "the site's name")->required();
  remove->add_option("--reason", *remove_reason, "recorded in the audit log and the roster");
  remove->callback([=] {
    admin::EnrollmentDecision request;
    request.set_name(*remove_site);
    request.set_reason(*remove_reason);
    const auto reply = ask(*flags, &admin::Admin::Stub::RemoveSite, request, "remove-site refused");
    if (flags->json) return print_json(reply);
    print_enrollment(reply);
    std::cout << "also revoke its certificates (fedxray provision revoke) so that nothing else "
                 "accepts them\n";
  });
}

}  // namespace fedxray
