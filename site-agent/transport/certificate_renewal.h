// The site's side of certificate renewal (proto/enrollment.proto, service Renewal): a new key
// made here, a signing request for it sent over the site's current mutual-TLS channel, and the
// certificate that comes back checked against the request and the consortium CA before the new
// pair replaces the old one in the kit.
//
// Replacing two files cannot be one atomic step, so both are first written complete beside the
// old ones ("<key>.next", "<certificate>.next", fsynced), then renamed key first, certificate
// second. A crash between the renames leaves "<certificate>.next", and
// finish_interrupted_renewal() completes it before the agent loads its kit: the kit is always
// either the old pair or the new pair. Torch-free.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "pki/tls.h"

namespace fedxray {

// Completes a renewal a crash interrupted (see above); returns true if it did anything.
bool finish_interrupted_renewal(const TlsFiles& kit);

// Renews `site`'s certificate over `channel` (to the coordinator's main port, authenticated with
// the certificate in `kit`) and installs the new key and certificate in the kit's files.
// Returns the new certificate's notAfter (Unix seconds). Throws Error with the coordinator's
// reason when it refuses; the kit is then unchanged.
int64_t renew_certificate(const std::shared_ptr<grpc::Channel>& channel, const TlsFiles& kit,
                          const std::string& site);

}  // namespace fedxray
