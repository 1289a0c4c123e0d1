// What the DICOM de-identifier keeps, and the standard it is held against.
//
// retained_attribute(): the allow-list. The de-identifier keeps an attribute only when this names
// it, at any nesting depth, and then applies the action given here (keep as is, keep empty,
// replace by a keyed pseudonym, replace by a new UID); every other attribute is removed: private
// tags, curves, overlays, free text, dates, names, unknown tags, sequences not named here. It
// names what is needed to decode the pixels (image pixel module, modality LUT, rescale),
// to label them (modality, body part, view, laterality, procedure codes) and the few Type 2
// patient and study attributes the Basic Profile keeps present but empty. Grow it only with
// attributes that cannot identify anyone: the tests fail when it keeps as is anything that
// Table E.1-1 lists.
//
// basic_profile(): DICOM PS3.15 (edition 2024b) Annex E, Table E.1-1, "Application Level
// Confidentiality Profile Attributes", the Basic Profile column, one entry per listed attribute
// (620, three of them group ranges: curve data 50xx, overlay data and comments 60xx). The
// standard's rule for private attributes (odd groups: X) is not an entry; the allow-list removes
// them. The de-identifier does not apply this table entry by entry; it is the yardstick: no
// attribute it lists may come out of the de-identifier with its original value.
//
// Both are immutable tables built once; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fedxray {

// The Basic Profile's actions as Table E.1-1 writes them: D replace with a dummy value, Z replace
// with empty (or dummy), X remove, U replace the UID consistently; the combinations (X/Z, X/D,
// X/Z/D, Z/D, X/Z/U*) let the remover pick by the IOD's attribute type.
enum class ProfileAction { D, Z, X, U, ZD, XZ, XD, XZD, XZU };

struct ProfileAttribute {
  uint16_t group, element;
  ProfileAction action;
  uint16_t group_mask = 0xFFFF, element_mask = 0xFFFF;  // ranges such as (60xx,4000)

  bool matches(uint16_t g, uint16_t e) const {
    return (g & group_mask) == group && (e & element_mask) == element;
  }
};

const std::vector<ProfileAttribute>& basic_profile();

// The entry of Table E.1-1 for (group, element), or nullptr when the table does not list it.
const ProfileAttribute* basic_profile_entry(uint16_t group, uint16_t element);

// "X/Z/D" etc., as the standard writes it.
std::string to_string(ProfileAction action);

enum class Retain {
  keep,       // value kept as is
  empty,      // kept present with an empty value (Type 2 attributes the profile empties)
  pseudonym,  // keyed pseudonym (Patient ID)
  new_uid,    // keyed replacement UID, consistent across files
};

struct RetainedAttribute {
  uint16_t group, element;
  Retain how;
};

const std::vector<RetainedAttribute>& retained_attributes();

// How (group, element) is retained, or nullopt when it is removed.
std::optional<Retain> retained_attribute(uint16_t group, uint16_t element);

}  // namespace fedxray
