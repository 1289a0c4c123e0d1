// EnrollmentBook: the coordinator's durable record of site enrolment, in the state database
// (coordinator.db), beside the site registry:
//
//   enrollment_tokens  one per site name: the SHA-256 of the one-time token an admin issued (the
//                      token itself is shown once and never stored), who issued it, until when it
//                      is valid, and when it was spent
//   enrollments        one per site name: the latest certificate signing request, its state
//                      (pending | approved | rejected | removed), who decided and why, and the
//                      certificate issued for it
//
// A site whose enrolment is approved is on the roster: the coordinator admits it without a
// restart or a config edit (coordinator.sites lists the rest). A removed site is refused by
// name, whatever certificate it holds and whether or not coordinator.sites lists it, until it
// enrols again and is approved. Each method is one transaction;
// refusals throw EnrollmentRefused with a message meant for the site or the admin. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace fedxray {

class SqliteDatabase;

class EnrollmentRefused : public Error {
 public:
  using Error::Error;
};

struct EnrollmentRow {
  std::string name;
  std::string status;  // pending, approved, rejected, removed
  std::string csr_pem;
  std::string csr_sha256;
  std::string requested_at;
  std::string decided_by;
  std::string decided_at;
  std::string reason;
  std::string certificate_pem;
  int64_t certificate_not_after = 0;
};

class EnrollmentBook {
 public:
  explicit EnrollmentBook(std::shared_ptr<SqliteDatabase> db);

  // A new one-time token for `name`, valid for `hours`; an earlier unspent one stops working.
  // Returns the token and sets `expires_at` (ISO 8601 UTC).
  std::string issue_token(const std::string& name, const std::string& issued_by, double hours,
                          std::string& expires_at);
  // A site's first contact: spends the token (bound to `name`, unspent, unexpired) and records
  // the request as pending, replacing an earlier request of that name. The CSR is checked by
  // the caller (pki/signing_request.h).
  EnrollmentRow request(const std::string& name, const std::string& token,
                        const std::string& csr_pem, const std::string& csr_sha256);
  std::optional<EnrollmentRow> find(const std::string& name) const;
  std::vector<EnrollmentRow> list() const;  // by name
  // Records the decision on a pending request. approve() without one (a CSR handed over out of
  // band and signed offline) records the site as approved with its certificate.
  EnrollmentRow approve(const std::string& name, const std::string& certificate_pem,
                        int64_t not_after, const std::string& decided_by);
  EnrollmentRow reject(const std::string& name, const std::string& reason,
                       const std::string& decided_by);
  // Takes `name` off the roster (a lost or stolen key, a site leaving): any state, or none.
  EnrollmentRow remove(const std::string& name, const std::string& reason,
                       const std::string& decided_by);
  // Whether `name` has an approved enrolment (it is on the roster).
  bool admitted(const std::string& name) const;
  // Whether an admin removed `name`.
  bool removed(const std::string& name) const;
  // Whether a token for `name` could be spent now (a cheap check before a request is parsed).
  bool token_usable(const std::string& name, const std::string& token) const;
  int64_t admitted_count() const;

 private:
  std::shared_ptr<SqliteDatabase> db_;
};

}  // namespace fedxray
