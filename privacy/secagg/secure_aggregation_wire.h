// Conversions between the secure-aggregation messages (secure_aggregation_messages.h) and their
// protobuf form in proto/fedxray.proto, so the site agent and the coordinator speak the same
// bytes. Pure data mapping, no checks: the receiving SecAggSite / SecAggServer checks content.
#pragma once

#include "fedxray/proto/fedxray.pb.h"
#include "privacy/secagg/secure_aggregation_messages.h"

namespace fedxray {

wire::SecAggKeyAdvert to_wire(const KeyAdvert& a);
KeyAdvert from_wire(const wire::SecAggKeyAdvert& a);
wire::SecAggSealedShare to_wire(const SealedShare& s);
SealedShare from_wire(const wire::SecAggSealedShare& s);
wire::SecAggReceipt to_wire(const ShareReceipt& r);
ShareReceipt from_wire(const std::string& site, const wire::SecAggReceipt& r);
wire::SecAggReveal to_wire(const UnmaskResponse& r);
UnmaskResponse from_wire(const std::string& site, const wire::SecAggReveal& r);

wire::SecAggRoundParams to_wire(const SecAggRound& round, double scale, double clip);
// job and round come from the assignment the params arrived with.
SecAggRound from_wire(const std::string& job, int round, const wire::SecAggRoundParams& p);

}  // namespace fedxray
