// Feeds the input to NpzArchive (data/npz_archive.h) as an .npz file and reads every
// member (up to 16) three ways: raw bytes, the .npy header alone, the whole .npy. Finding:
// anything but fedxray::Error, read_npy() disagreeing with parse_npy() over read() (one accepting
// what the other refuses, or a different dtype, shape or data), a header that differs from the
// full read's, an absent member that has() admits, or any crash, leak or sanitizer report (an
// allocation beyond -rss_limit_mb included: archives declare sizes). member_names() gives names
// for messages (control characters become '?'), so a listed name has() denies is skipped.
#include <algorithm>
#include <cstdlib>
#include <optional>

#include "base/error.h"
#include "fuzz/fuzz_support.h"
#include "data/npz_archive.h"

namespace {

bool same(const fedxray::NpyArray& a, const fedxray::NpyArray& b, bool with_data) {
  return a.dtype == b.dtype && a.shape == b.shape && (!with_data || a.data == b.data);
}

void check_member(const fedxray::NpzArchive& archive, const std::string& member) {
  if (!archive.has(member)) return;
  std::optional<std::string> raw;
  std::optional<fedxray::NpyArray> direct, parsed;
  try {
    raw = archive.read(member);
  } catch (const fedxray::Error&) {
  }
  try {
    direct = archive.read_npy(member);
  } catch (const fedxray::Error&) {
  }
  if (raw) {
    try {
      parsed = fedxray::parse_npy(*raw, archive.path() + ":" + member);
    } catch (const fedxray::Error&) {
    }
  }
  if (direct.has_value() != parsed.has_value()) std::abort();
  if (direct && !same(*direct, *parsed, true)) std::abort();
  if (direct) {
    if (direct->data.size() != direct->elements() * direct->item_size()) std::abort();
    const fedxray::NpyArray header = archive.read_npy_header(member);
    if (!same(header, *direct, false)) std::abort();
  } else {
    try {
      (void)archive.read_npy_header(member);
    } catch (const fedxray::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string path = fedxray::fuzz::write_input(data, size, "input.npz");
  try {
    const fedxray::NpzArchive archive(path);
    const std::vector<std::string> members = archive.member_names();
    for (std::size_t i = 0; i < members.size() && i < 16; ++i) check_member(archive, members[i]);
    const std::string absent = "absent\x01.npy";
    if (std::find(members.begin(), members.end(), absent) == members.end()) {
      if (archive.has(absent)) std::abort();
      try {
        (void)archive.read(absent);
        std::abort();  // an absent member must be an Error
      } catch (const fedxray::Error&) {
      }
    }
  } catch (const fedxray::Error&) {
  }
  return 0;
}
