#include "privacy/deid/confidentiality_profile.h"

#include <utility>
#include <map>

namespace fedxray {
namespace {

constexpr ProfileAction D = ProfileAction::D, Z = ProfileAction::Z, X = ProfileAction::X,
                        U = ProfileAction::U, ZD = ProfileAction::ZD, XZ = ProfileAction::XZ,
                        XD = ProfileAction::XD, XZD = ProfileAction::XZD, XZU = ProfileAction::XZU;

}  // namespace

// DICOM PS3.15 2024b, Annex E, Table E.1-1, Basic Profile column, sorted by tag. Generated from
// the standard's table (https://dicom.nema.org/medical/dicom/2024b/output/chtml/part15/
// chapter_E.html#table_E.1-1); the comment is the standard's attribute name.
const std::vector<ProfileAttribute>& basic_profile() {
  static const std::vector<ProfileAttribute> table = {
      {0x0000, 0x1000, X},    // Affected SOP Instance UID
      {0x0000, 0x1001, U},    // Requested SOP Instance UID
      {0x0002, 0x0003, U},    // Media Storage SOP Instance UID
      {0x0004, 0x1511, U},    // Referenced SOP Instance UID in File
      {0x0008, 0x0012, XD},   // Instance Creation Date
      {0x0008, 0x0013, XZD},  // Instance Creation Time
      {0x0008, 0x0014, U},    // Instance Creator UID
      {0x0008, 0x0015, X},    // Instance Coercion DateTime
      {0x0008, 0x0017, U},    // Acquisition UID
      {0x0008, 0x0018, U},    // SOP Instance UID
      {0x0008, 0x0019, U},    // Pyramid UID
      {0x0008, 0x0020, Z},    // Study Date
      {0x0008, 0x0021, XD},   // Series Date
      {0x0008, 0x0022, XZ},   // Acquisition Date
      {0x0008, 0x0023, ZD},   // Content Date
      {0x0008, 0x0024, X},    // Overlay Date
      {0x0008, 0x0025, X},    // Curve Date
      {0x0008, 0x002A, XZD},  // Acquisition DateTime
      {0x0008, 0x0030, Z},    // Study Time
      {0x0008, 0x0031, XD},   // Series Time
      {0x0008, 0x0032, XZ},   // Acquisition Time
      {0x0008, 0x0033, ZD},   // Content Time
      {0x0008, 0x0034, X},    // Overlay Time
      {0x0008, 0x0035, X},    // Curve Time
      {0x0008, 0x0050, Z},    // Accession Number
      {0x0008, 0x0054, X},    // Retrieve AE Title
      {0x0008, 0x0055, X},    // Station AE Title
      {0x0008, 0x0058, U},    // Failed SOP Instance UID List
      {0x0008, 0x0080, XZD},  // Institution Name
      {0x0008, 0x0081, X},    // Institution Address
      {0x0008, 0x0082, XZD},  // Institution Code Sequence
      {0x0008, 0x0090, Z},    // Referring Physician's Name
      {0x0008, 0x0092, X},    // Referring Physician's Address
      {0x0008, 0x0094, X},    // Referring Physician's Telephone Numbers
      {0x0008, 0x0096, X},    // Referring Physician Identification Sequence
      {0x0008, 0x009C, Z},    // Consulting Physician's Name
      {0x0008, 0x009D, X},    // Consulting Physician Identification Sequence
      {0x0008, 0x0106, D},    // Context Group Version
      {0x0008, 0x0107, D},    // Context Group Local Version
      {0x0008, 0x0201, X},    // Timezone Offset From UTC
      {0x0008, 0x1000, X},    // Network ID
      {0x0008, 0x1010, XZD},  // Station Name
      {0x0008, 0x1030, X},    // Study Description
      {0x0008, 0x103E, X},    // Series Description
      {0x0008, 0x1040, X},    // Institutional Department Name
      {0x0008, 0x1041, X},    // Institutional Department Type Code Sequence
      {0x0008, 0x1048, X},    // Physician(s) of Record
      {0x0008, 0x1049, X},    // Physician(s) of Record Identification Sequence
      {0x0008, 0x1050, X},    // Performing Physician's Name
      {0x0008, 0x1052, X},    // Performing Physician Identification Sequence
      {0x0008, 0x1060, X},    // Name of Physician(s) Reading Study
      {0x0008, 0x1062, X},    // Physician(s) Reading Study Identification Sequence
      {0x0008, 0x1070, XZD},  // Operators' Name
      {0x0008, 0x1072, XD},   // Operator Identification Sequence
      {0x0008, 0x1080, X},    // Admitting Diagnoses Description
      {0x0008, 0x1084, X},    // Admitting Diagnoses Code Sequence
      {0x0008, 0x1088, X},    // Pyramid Description
      {0x0008, 0x1110, XZ},   // Referenced Study Sequence
      {0x0008, 0x1111, XZD},  // Referenced Performed Procedure Step Sequence
      {0x0008, 0x1120, X},    // Referenced Patient Sequence
      {0x0008, 0x1140, XZU},  // Referenced Image Sequence
      {0x0008, 0x1155, U},    // Referenced SOP Instance UID
      {0x0008, 0x1195, U},    // Transaction UID
      {0x0008, 0x2111, X},    // Derivation Description
      {0x0008, 0x2112, XZU},  // Source Image Sequence
      {0x0008, 0x3010, U},    // Irradiation Event UID
      {0x0008, 0x4000, X},    // Identifying Comments
      {0x0010, 0x0010, Z},    // Patient's Name
      {0x0010, 0x0020, ZD},   // Patient ID
      {0x0010, 0x0021, X},    // Issuer of Patient ID
      {0x0010, 0x0030, Z},    // Patient's Birth Date
      {0x0010, 0x0032, X},    // Patient's Birth Time
      {0x0010, 0x0040, Z},    // Patient's Sex
      {0x0010, 0x0050, X},    // Patient's Insurance Plan Code Sequence
      {0x0010, 0x0101, X},    // Patient's Primary Language Code Sequence
      {0x0010, 0x0102, X},    // Patient's Primary Language Modifier Code Sequence
      {0x0010, 0x1000, X},    // Other Patient IDs
      {0x0010, 0x1001, X},    // Other Patient Names
      {0x0010, 0x1002, X},    // Other Patient IDs Sequence
      {0x0010, 0x1005, X},    // Patient's Birth Name
      {0x0010, 0x1010, X},    // Patient's Age
      {0x0010, 0x1020, X},    // Patient's Size
      {0x0010, 0x1030, X},    // Patient's Weight
      {0x0010, 0x1040, X},    // Patient's Address
      {0x0010, 0x1050, X},    // Insurance Plan Identification
      {0x0010, 0x1060, X},    // Patient's Mother's Birth Name
      {0x0010, 0x1080, X},    // Military Rank
      {0x0010, 0x1081, X},    // Branch of Service
      {0x0010, 0x1090, X},    // Medical Record Locator
      {0x0010, 0x1100, X},    // Referenced Patient Photo Sequence
      {0x0010, 0x2000, X},    // Medical Alerts
      {0x0010, 0x2110, X},    // Allergies
      {0x0010, 0x2150, X},    // Country of Residence
      {0x0010, 0x2152, X},    // Region of Residence
      {0x0010, 0x2154, X},    // Patient's Telephone Numbers
      {0x0010, 0x2155, X},    // Patient's Telecom Information
      {0x0010, 0x2160, X},    // Ethnic Group
      {0x0010, 0x2180, X},    // Occupation
      {0x0010, 0x21A0, X},    // Smoking Status
      {0x0010, 0x21B0, X},    // Additional Patient History
      {0x0010, 0x21C0, X},    // Pregnancy Status
      {0x0010, 0x21D0, X},    // Last Menstrual Date
      {0x0010, 0x21F0, X},    // Patient's Religious Preference
      {0x0010, 0x2203, XZ},   // Patient's Sex Neutered
      {0x0010, 0x2297, X},    // Responsible Person
      {0x0010, 0x2299, X},    // Responsible Organization
      {0x0010, 0x4000, X},    // Patient Comments
      {0x0012, 0x0010, D},    // Clinical Trial Sponsor Name
      {0x0012, 0x0020, D},    // Clinical Trial Protocol ID
      {0x0012, 0x0021, Z},    // Clinical Trial Protocol Name
      {0x0012, 0x0022, X},    // Issuer of Clinical Trial Protocol ID
      {0x0012, 0x0023, X},    // Other Clinical Trial Protocol IDs Sequence
      {0x0012, 0x0030, Z},    // Clinical Trial Site ID
      {0x0012, 0x0031, Z},    // Clinical Trial Site Name
      {0x0012, 0x0032, X},    // Issuer of Clinical Trial Site ID
      {0x0012, 0x0040, D},    // Clinical Trial Subject ID
      {0x0012, 0x0041, X},    // Issuer of Clinical Trial Subject ID
      {0x0012, 0x0042, D},    // Clinical Trial Subject Reading ID
      {0x0012, 0x0043, X},    // Issuer of Clinical Trial Subject Reading ID
      {0x0012, 0x0050, Z},    // Clinical Trial Time Point ID
      {0x0012, 0x0051, X},    // Clinical Trial Time Point Description
      {0x0012, 0x0055, X},    // Issuer of Clinical Trial Time Point ID
      {0x0012, 0x0060, Z},    // Clinical Trial Coordinating Center Name
      {0x0012, 0x0071, X},    // Clinical Trial Series ID
      {0x0012, 0x0072, X},    // Clinical Trial Series Description
      {0x0012, 0x0073, X},    // Issuer of Clinical Trial Series ID
      {0x0012, 0x0081, D},    // Clinical Trial Protocol Ethics Committee Name
      {0x0012, 0x0082, X},    // Clinical Trial Protocol Ethics Committee Approval Number
      {0x0012, 0x0086, X},    // Ethics Committee Approval Effectiveness Start Date
      {0x0012, 0x0087, X},    // Ethics Committee Approval Effectiveness End Date
      {0x0014, 0x407C, X},    // Calibration Time
      {0x0014, 0x407E, X},    // Calibration Date
      {0x0016, 0x002B, X},    // Maker Note
      {0x0016, 0x004B, X},    // Device Setting Description
      {0x0016, 0x004D, X},    // Camera Owner Name
      {0x0016, 0x004E, X},    // Lens Specification
      {0x0016, 0x004F, X},    // Lens Make
      {0x0016, 0x0050, X},    // Lens Model
      {0x0016, 0x0051, X},    // Lens Serial Number
      {0x0016, 0x0070, X},    // GPS Version ID
      {0x0016, 0x0071, X},    // GPS Latitude Ref
      {0x0016, 0x0072, X},    // GPS Latitude
      {0x0016, 0x0073, X},    // GPS Longitude Ref
      {0x0016, 0x0074, X},    // GPS Longitude
      {0x0016, 0x0075, X},    // GPS Altitude Ref
      {0x0016, 0x0076, X},    // GPS Altitude
      {0x0016, 0x0077, X},    // GPS Time Stamp
      {0x0016, 0x0078, X},    // GPS Satellites
      {0x0016, 0x0079, X},    // GPS Status
      {0x0016, 0x007A, X},    // GPS Measure Mode
      {0x0016, 0x007B, X},    // GPS DOP
      {0x0016, 0x007C, X},    // GPS Speed Ref
      {0x0016, 0x007D, X},    // GPS Speed
      {0x0016, 0x007E, X},    // GPS Track Ref
      {0x0016, 0x007F, X},    // GPS Track
      {0x0016, 0x0080, X},    // GPS Img Direction Ref
      {0x0016, 0x0081, X},    // GPS Img Direction
      {0x0016, 0x0082, X},    // GPS Map Datum
      {0x0016, 0x0083, X},    // GPS Dest Latitude Ref
      {0x0016, 0x0084, X},    // GPS Dest Latitude
      {0x0016, 0x0085, X},    // GPS Dest Longitude Ref
      {0x0016, 0x0086, X},    // GPS Dest Longitude
      {0x0016, 0x0087, X},    // GPS Dest Bearing Ref
      {0x0016, 0x0088, X},    // GPS Dest Bearing
      {0x0016, 0x0089, X},    // GPS Dest Distance Ref
      {0x0016, 0x008A, X},    // GPS Dest Distance
      {0x0016, 0x008B, X},    // GPS Processing Method
      {0x0016, 0x008C, X},    // GPS Area Information
      {0x0016, 0x008D, X},    // GPS Date Stamp
      {0x0016, 0x008E, X},    // GPS Differential
      {0x0018, 0x0010, ZD},   // Contrast/Bolus Agent
      {0x0018, 0x0027, X},    // Intervention Drug Stop Time
      {0x0018, 0x0035, X},    // Intervention Drug Start Time
      {0x0018, 0x1000, XZD},  // Device Serial Number
      {0x0018, 0x1002, U},    // Device UID
      {0x0018, 0x1004, X},    // Plate ID
      {0x0018, 0x1005, X},    // Generator ID
      {0x0018, 0x1007, X},    // Cassette ID
      {0x0018, 0x1008, X},    // Gantry ID
      {0x0018, 0x1009, X},    // Unique Device Identifier
      {0x0018, 0x100A, X},    // UDI Sequence
      {0x0018, 0x100B, U},    // Manufacturer's Device Class UID
      {0x0018, 0x1012, X},    // Date of Secondary Capture
      {0x0018, 0x1014, X},    // Time of Secondary Capture
      {0x0018, 0x1030, XD},   // Protocol Name
      {0x0018, 0x1042, X},    // Contrast/Bolus Start Time
      {0x0018, 0x1043, X},    // Contrast/Bolus Stop Time
      {0x0018, 0x1072, X},    // Radiopharmaceutical Start Time
      {0x0018, 0x1073, X},    // Radiopharmaceutical Stop Time
      {0x0018, 0x1078, X},    // Radiopharmaceutical Start DateTime
      {0x0018, 0x1079, X},    // Radiopharmaceutical Stop DateTime
      {0x0018, 0x11BB, D},    // Acquisition Field Of View Label
      {0x0018, 0x1200, X},    // Date of Last Calibration
      {0x0018, 0x1201, X},    // Time of Last Calibration
      {0x0018, 0x1202, X},    // DateTime of Last Calibration
      {0x0018, 0x1203, Z},    // Calibration DateTime
      {0x0018, 0x1204, X},    // Date of Manufacture
      {0x0018, 0x1205, X},    // Date of Installation
      {0x0018, 0x1400, XD},   // Acquisition Device Processing Description
      {0x0018, 0x2042, U},    // Target UID
      {0x0018, 0x4000, X},    // Acquisition Comments
      {0x0018, 0x5011, X},    // Transducer Identification Sequence
      {0x0018, 0x700A, XD},   // Detector ID
      {0x0018, 0x700C, XD},   // Date of Last Detector Calibration
      {0x0018, 0x700E, XD},   // Time of Last Detector Calibration
      {0x0018, 0x9074, D},    // Frame Acquisition DateTime
      {0x0018, 0x9151, D},    // Frame Reference DateTime
      {0x0018, 0x9185, X},    // Respiratory Motion Compensation Technique Description
      {0x0018, 0x9367, D},    // X-Ray Source ID
      {0x0018, 0x9369, D},    // Source Start DateTime
      {0x0018, 0x936A, D},    // Source End DateTime
      {0x0018, 0x9371, D},    // X-Ray Detector ID
      {0x0018, 0x9373, X},    // X-Ray Detector Label
      {0x0018, 0x937B, X},    // Multi-energy Acquisition Description
      {0x0018, 0x937F, X},    // Decomposition Description
      {0x0018, 0x9424, X},    // Acquisition Protocol Description
      {0x0018, 0x9516, XD},   // Start Acquisition DateTime
      {0x0018, 0x9517, XD},   // End Acquisition DateTime
      {0x0018, 0x9623, D},    // Functional Sync Pulse
      {0x0018, 0x9701, D},    // Decay Correction DateTime
      {0x0018, 0x9804, D},    // Exclusion Start DateTime
      {0x0018, 0x9919, ZD},   // Instruction Performed DateTime
      {0x0018, 0x9937, X},    // Requested Series Description
      {0x0018, 0xA002, X},    // Contribution DateTime
      {0x0018, 0xA003, X},    // Contribution Description
      {0x0020, 0x000D, U},    // Study Instance UID
      {0x0020, 0x000E, U},    // Series Instance UID
      {0x0020, 0x0010, Z},    // Study ID
      {0x0020, 0x0027, X},    // Pyramid Label
      {0x0020, 0x0052, U},    // Frame of Reference UID
      {0x0020, 0x0200, U},    // Synchronization Frame of Reference UID
      {0x0020, 0x3401, X},    // Modifying Device ID
      {0x0020, 0x3403, X},    // Modified Image Date
      {0x0020, 0x3405, X},    // Modified Image Time
      {0x0020, 0x3406, X},    // Modified Image Description
      {0x0020, 0x4000, X},    // Image Comments
      {0x0020, 0x9158, X},    // Frame Comments
      {0x0020, 0x9161, U},    // Concatenation UID
      {0x0020, 0x9164, U},    // Dimension Organization UID
      {0x0028, 0x1199, U},    // Palette Color Lookup Table UID
      {0x0028, 0x1214, U},    // Large Palette Color Lookup Table UID
      {0x0028, 0x4000, X},    // Image Presentation Comments
      {0x0032, 0x0012, X},    // Study ID Issuer
      {0x0032, 0x0032, X},    // Study Verified Date
      {0x0032, 0x0033, X},    // Study Verified Time
      {0x0032, 0x0034, X},    // Study Read Date
      {0x0032, 0x0035, X},    // Study Read Time
      {0x0032, 0x1000, X},    // Scheduled Study Start Date
      {0x0032, 0x1001, X},    // Scheduled Study Start Time
      {0x0032, 0x1010, X},    // Scheduled Study Stop Date
      {0x0032, 0x1011, X},    // Scheduled Study Stop Time
      {0x0032, 0x1020, X},    // Scheduled Study Location
      {0x0032, 0x1021, X},    // Scheduled Study Location AE Title
      {0x0032, 0x1030, X},    // Reason for Study
      {0x0032, 0x1032, X},    // Requesting Physician
      {0x0032, 0x1033, X},    // Requesting Service
      {0x0032, 0x1040, X},    // Study Arrival Date
      {0x0032, 0x1041, X},    // Study Arrival Time
      {0x0032, 0x1050, X},    // Study Completion Date
      {0x0032, 0x1051, X},    // Study Completion Time
      {0x0032, 0x1060, XZ},   // Requested Procedure Description
      {0x0032, 0x1066, X},    // Reason for Visit
      {0x0032, 0x1067, X},    // Reason for Visit Code Sequence
      {0x0032, 0x1070, X},    // Requested Contrast Agent
      {0x0032, 0x4000, X},    // Study Comments
      {0x0034, 0x0001, D},    // Flow Identifier Sequence
      {0x0034, 0x0002, D},    // Flow Identifier
      {0x0034, 0x0005, D},    // Source Identifier
      {0x0034, 0x0007, D},    // Frame Origin Timestamp
      {0x0038, 0x0004, X},    // Referenced Patient Alias Sequence
      {0x0038, 0x0010, X},    // Admission ID
      {0x0038, 0x0011, X},    // Issuer of Admission ID
      {0x0038, 0x0014, X},    // Issuer of Admission ID Sequence
      {0x0038, 0x001A, X},    // Scheduled Admission Date
      {0x0038, 0x001B, X},    // Scheduled Admission Time
      {0x0038, 0x001C, X},    // Scheduled Discharge Date
      {0x0038, 0x001D, X},    // Scheduled Discharge Time
      {0x0038, 0x001E, X},    // Scheduled Patient Institution Residence
      {0x0038, 0x0020, X},    // Admitting Date
      {0x0038, 0x0021, X},    // Admitting Time
      {0x0038, 0x0030, X},    // Discharge Date
      {0x0038, 0x0032, X},    // Discharge Time
      {0x0038, 0x0040, X},    // Discharge Diagnosis Description
      {0x0038, 0x0050, X},    // Special Needs
      {0x0038, 0x0060, X},    // Service Episode ID
      {0x0038, 0x0061, X},    // Issuer of Service Episode ID
      {0x0038, 0x0062, X},    // Service Episode Description
      {0x0038, 0x0064, X},    // Issuer of Service Episode ID Sequence
      {0x0038, 0x0300, X},    // Current Patient Location
      {0x0038, 0x0400, X},    // Patient's Institution Residence
      {0x0038, 0x0500, X},    // Patient State
      {0x0038, 0x4000, X},    // Visit Comments
      {0x003A, 0x0310, U},    // Multiplex Group UID
      {0x003A, 0x0314, D},    // Impedance Measurement DateTime
      {0x003A, 0x0329, X},    // Waveform Filter Description
      {0x003A, 0x032B, X},    // Filter Lookup Table Description
      {0x0040, 0x0001, X},    // Scheduled Station AE Title
      {0x0040, 0x0002, X},    // Scheduled Procedure Step Start Date
      {0x0040, 0x0003, X},    // Scheduled Procedure Step Start Time
      {0x0040, 0x0004, X},    // Scheduled Procedure Step End Date
      {0x0040, 0x0005, X},    // Scheduled Procedure Step End Time
      {0x0040, 0x0006, X},    // Scheduled Performing Physician's Name
      {0x0040, 0x0007, X},    // Scheduled Procedure Step Description
      {0x0040, 0x0009, X},    // Scheduled Procedure Step ID
      {0x0040, 0x000B, X},    // Scheduled Performing Physician Identification Sequence
      {0x0040, 0x0010, X},    // Scheduled Station Name
      {0x0040, 0x0011, X},    // Scheduled Procedure Step Location
      {0x0040, 0x0012, X},    // Pre-Medication
      {0x0040, 0x0241, X},    // Performed Station AE Title
      {0x0040, 0x0242, X},    // Performed Station Name
      {0x0040, 0x0243, X},    // Performed Location
      {0x0040, 0x0244, X},    // Performed Procedure Step Start Date
      {0x0040, 0x0245, X},    // Performed Procedure Step Start Time
      {0x0040, 0x0250, X},    // Performed Procedure Step End Date
      {0x0040, 0x0251, X},    // Performed Procedure Step End Time
      {0x0040, 0x0253, X},    // Performed Procedure Step ID
      {0x0040, 0x0254, X},    // Performed Procedure Step Description
      {0x0040, 0x0275, X},    // Request Attributes Sequence
      {0x0040, 0x0280, X},    // Comments on the Performed Procedure Step
      {0x0040, 0x0310, X},    // Comments on Radiation Dose
      {0x0040, 0x050A, X},    // Specimen Accession Number
      {0x0040, 0x0512, D},    // Container Identifier
      {0x0040, 0x0513, Z},    // Issuer of the Container Identifier Sequence
      {0x0040, 0x051A, X},    // Container Description
      {0x0040, 0x0551, D},    // Specimen Identifier
      {0x0040, 0x0554, U},    // Specimen UID
      {0x0040, 0x0555, XZ},   // Acquisition Context Sequence
      {0x0040, 0x0562, Z},    // Issuer of the Specimen Identifier Sequence
      {0x0040, 0x0600, X},    // Specimen Short Description
      {0x0040, 0x0602, X},    // Specimen Detailed Description
      {0x0040, 0x0610, Z},    // Specimen Preparation Sequence
      {0x0040, 0x06FA, X},    // Slide Identifier
      {0x0040, 0x1001, X},    // Requested Procedure ID
      {0x0040, 0x1002, X},    // Reason for the Requested Procedure
      {0x0040, 0x1004, X},    // Patient Transport Arrangements
      {0x0040, 0x1005, X},    // Requested Procedure Location
      {0x0040, 0x100A, X},    // Reason for Requested Procedure Code Sequence
      {0x0040, 0x1010, X},    // Names of Intended Recipients of Results
      {0x0040, 0x1011, X},    // Intended Recipients of Results Identification Sequence
      {0x0040, 0x1101, D},    // Person Identification Code Sequence
      {0x0040, 0x1102, X},    // Person's Address
      {0x0040, 0x1103, X},    // Person's Telephone Numbers
      {0x0040, 0x1104, X},    // Person's Telecom Information
      {0x0040, 0x1400, X},    // Requested Procedure Comments
      {0x0040, 0x2001, X},    // Reason for the Imaging Service Request
      {0x0040, 0x2004, X},    // Issue Date of Imaging Service Request
      {0x0040, 0x2005, X},    // Issue Time of Imaging Service Request
      {0x0040, 0x2008, X},    // Order Entered By
      {0x0040, 0x2009, X},    // Order Enterer's Location
      {0x0040, 0x2010, X},    // Order Callback Phone Number
      {0x0040, 0x2011, X},    // Order Callback Telecom Information
      {0x0040, 0x2016, Z},    // Placer Order Number / Imaging Service Request
      {0x0040, 0x2017, Z},    // Filler Order Number / Imaging Service Request
      {0x0040, 0x2400, X},    // Imaging Service Request Comments
      {0x0040, 0x3001, X},    // Confidentiality Constraint on Patient Data Description
      {0x0040, 0x4005, X},    // Scheduled Procedure Step Start DateTime
      {0x0040, 0x4008, X},    // Scheduled Procedure Step Expiration DateTime
      {0x0040, 0x4010, X},    // Scheduled Procedure Step Modification DateTime
      {0x0040, 0x4011, X},    // Expected Completion DateTime
      {0x0040, 0x4023, U},    // Referenced General Purpose Scheduled Procedure Step Transaction UID
      {0x0040, 0x4025, X},    // Scheduled Station Name Code Sequence
      {0x0040, 0x4027, X},    // Scheduled Station Geographic Location Code Sequence
      {0x0040, 0x4028, X},    // Performed Station Name Code Sequence
      {0x0040, 0x4030, X},    // Performed Station Geographic Location Code Sequence
      {0x0040, 0x4034, X},    // Scheduled Human Performers Sequence
      {0x0040, 0x4035, X},    // Actual Human Performers Sequence
      {0x0040, 0x4036, X},    // Human Performer's Organization
      {0x0040, 0x4037, X},    // Human Performer's Name
      {0x0040, 0x4050, X},    // Performed Procedure Step Start DateTime
      {0x0040, 0x4051, X},    // Performed Procedure Step End DateTime
      {0x0040, 0x4052, X},    // Procedure Step Cancellation DateTime
      {0x0040, 0xA023, X},    // Findings Group Recording Date (Trial)
      {0x0040, 0xA024, X},    // Findings Group Recording Time (Trial)
      {0x0040, 0xA027, D},    // Verifying Organization
      {0x0040, 0xA030, D},    // Verification DateTime
      {0x0040, 0xA032, XD},   // Observation DateTime
      {0x0040, 0xA033, X},    // Observation Start DateTime
      {0x0040, 0xA073, D},    // Verifying Observer Sequence
      {0x0040, 0xA075, D},    // Verifying Observer Name
      {0x0040, 0xA078, X},    // Author Observer Sequence
      {0x0040, 0xA07A, X},    // Participant Sequence
      {0x0040, 0xA07C, X},    // Custodial Organization Sequence
      {0x0040, 0xA082, Z},    // Participation DateTime
      {0x0040, 0xA088, Z},    // Verifying Observer Identification Code Sequence
      {0x0040, 0xA110, X},    // Date of Document or Verbal Transaction (Trial)
      {0x0040, 0xA112, X},    // Time of Document Creation or Verbal Transaction (Trial)
      {0x0040, 0xA120, D},    // DateTime
      {0x0040, 0xA121, D},    // Date
      {0x0040, 0xA122, D},    // Time
      {0x0040, 0xA123, D},    // Person Name
      {0x0040, 0xA124, U},    // UID
      {0x0040, 0xA13A, D},    // Referenced DateTime
      {0x0040, 0xA171, U},    // Observation UID
      {0x0040, 0xA172, U},    // Referenced Observation UID (Trial)
      {0x0040, 0xA192, X},    // Observation Date (Trial)
      {0x0040, 0xA193, X},    // Observation Time (Trial)
      {0x0040, 0xA307, X},    // Current Observer (Trial)
      {0x0040, 0xA352, X},    // Verbal Source (Trial)
      {0x0040, 0xA353, X},    // Address (Trial)
      {0x0040, 0xA354, X},    // Telephone Number (Trial)
      {0x0040, 0xA358, X},    // Verbal Source Identifier Code Sequence (Trial)
      {0x0040, 0xA402, U},    // Observation Subject UID (Trial)
      {0x0040, 0xA730, D},    // Content Sequence
      {0x0040, 0xDB06, X},    // Template Version
      {0x0040, 0xDB07, X},    // Template Local Version
      {0x0040, 0xDB0C, U},    // Template Extension Organization UID
      {0x0040, 0xDB0D, U},    // Template Extension Creator UID
      {0x0040, 0xE004, X},    // HL7 Document Effective Time
      {0x0042, 0x0011, D},    // Encapsulated Document
      {0x0044, 0x0004, X},    // Approval Status DateTime
      {0x0044, 0x000B, X},    // Product Expiration DateTime
      {0x0044, 0x0010, X},    // Substance Administration DateTime
      {0x0044, 0x0104, D},    // Assertion DateTime
      {0x0044, 0x0105, X},    // Assertion Expiration DateTime
      {0x0050, 0x001B, X},    // Container Component ID
      {0x0050, 0x0020, X},    // Device Description
      {0x0050, 0x0021, X},    // Long Device Description
      {0x0062, 0x0021, U},    // Tracking UID
      {0x0064, 0x0003, U},    // Source Frame of Reference UID
      {0x0068, 0x6226, D},    // Effective DateTime
      {0x0068, 0x6270, D},    // Information Issue DateTime
      {0x006A, 0x0003, D},    // Annotation Group UID
      {0x006A, 0x0005, D},    // Annotation Group Label
      {0x006A, 0x0006, X},    // Annotation Group Description
      {0x0070, 0x0001, D},    // Graphic Annotation Sequence
      {0x0070, 0x0082, X},    // Presentation Creation Date
      {0x0070, 0x0083, X},    // Presentation Creation Time
      {0x0070, 0x0084, ZD},   // Content Creator's Name
      {0x0070, 0x0086, X},    // Content Creator's Identification Code Sequence
      {0x0070, 0x031A, U},    // Fiducial UID
      {0x0070, 0x1101, U},    // Presentation Display Collection UID
      {0x0070, 0x1102, U},    // Presentation Sequence Collection UID
      {0x0072, 0x000A, D},    // Hanging Protocol Creation DateTime
      {0x0072, 0x005E, D},    // Selector AE Value
      {0x0072, 0x005F, D},    // Selector AS Value
      {0x0072, 0x0061, D},    // Selector DA Value
      {0x0072, 0x0063, D},    // Selector DT Value
      {0x0072, 0x0065, D},    // Selector OB Value
      {0x0072, 0x0066, D},    // Selector LO Value
      {0x0072, 0x0068, D},    // Selector LT Value
      {0x0072, 0x006A, D},    // Selector PN Value
      {0x0072, 0x006B, D},    // Selector TM Value
      {0x0072, 0x006C, D},    // Selector SH Value
      {0x0072, 0x006D, D},    // Selector UN Value
      {0x0072, 0x006E, D},    // Selector ST Value
      {0x0072, 0x0070, D},    // Selector UT Value
      {0x0072, 0x0071, D},    // Selector UR Value
      {0x0074, 0x1234, X},    // Receiving AE
      {0x0074, 0x1236, X},    // Requesting AE
      {0x0088, 0x0140, U},    // Storage Media File-set UID
      {0x0088, 0x0200, X},    // Icon Image Sequence(see Note 11)
      {0x0088, 0x0904, X},    // Topic Title
      {0x0088, 0x0906, X},    // Topic Subject
      {0x0088, 0x0910, X},    // Topic Author
      {0x0088, 0x0912, X},    // Topic Keywords
      {0x0100, 0x0420, X},    // SOP Authorization DateTime
      {0x0400, 0x0100, U},    // Digital Signature UID
      {0x0400, 0x0105, D},    // Digital Signature DateTime
      {0x0400, 0x0115, D},    // Certificate of Signer
      {0x0400, 0x0310, X},    // Certified Timestamp
      {0x0400, 0x0402, X},    // Referenced Digital Signature Sequence
      {0x0400, 0x0403, X},    // Referenced SOP Instance MAC Sequence
      {0x0400, 0x0404, X},    // MAC
      {0x0400, 0x0550, X},    // Modified Attributes Sequence
      {0x0400, 0x0551, X},    // Nonconforming Modified Attributes Sequence
      {0x0400, 0x0552, X},    // Nonconforming Data Element Value
      {0x0400, 0x0561, X},    // Original Attributes Sequence
      {0x0400, 0x0562, D},    // Attribute Modification DateTime
      {0x0400, 0x0563, D},    // Modifying System
      {0x0400, 0x0564, Z},    // Source of Previous Values
      {0x0400, 0x0565, D},    // Reason for the Attribute Modification
      {0x0400, 0x0600, X},    // Instance Origin Status
      {0x2030, 0x0020, X},    // Text String
      {0x2100, 0x0040, X},    // Creation Date
      {0x2100, 0x0050, X},    // Creation Time
      {0x2100, 0x0070, X},    // Originator
      {0x2100, 0x0140, D},    // Destination AE
      {0x2200, 0x0002, XZ},   // Label Text
      {0x2200, 0x0005, XZ},   // Barcode Value
      {0x3002, 0x0121, X},    // Position Acquisition Template Name
      {0x3002, 0x0123, X},    // Position Acquisition Template Description
      {0x3006, 0x0002, D},    // Structure Set Label
      {0x3006, 0x0004, X},    // Structure Set Name
      {0x3006, 0x0006, X},    // Structure Set Description
      {0x3006, 0x0008, Z},    // Structure Set Date
      {0x3006, 0x0009, Z},    // Structure Set Time
      {0x3006, 0x0024, U},    // Referenced Frame of Reference UID
      {0x3006, 0x0026, Z},    // ROI Name
      {0x3006, 0x0028, X},    // ROI Description
      {0x3006, 0x002D, X},    // ROI DateTime
      {0x3006, 0x002E, X},    // ROI Observation DateTime
      {0x3006, 0x0038, X},    // ROI Generation Description
      {0x3006, 0x004D, X},    // ROI Creator Sequence
      {0x3006, 0x004E, X},    // ROI Interpreter Sequence
      {0x3006, 0x0085, X},    // ROI Observation Label
      {0x3006, 0x0088, X},    // ROI Observation Description
      {0x3006, 0x00A6, Z},    // ROI Interpreter
      {0x3006, 0x00C2, U},    // Related Frame of Reference UID
      {0x3008, 0x0024, D},    // Treatment Control Point Date
      {0x3008, 0x0025, D},    // Treatment Control Point Time
      {0x3008, 0x0054, XD},   // First Treatment Date
      {0x3008, 0x0056, XD},   // Most Recent Treatment Date
      {0x3008, 0x0105, XZ},   // Source Serial Number
      {0x3008, 0x0162, D},    // Safe Position Exit Date
      {0x3008, 0x0164, D},    // Safe Position Exit Time
      {0x3008, 0x0166, D},    // Safe Position Return Date
      {0x3008, 0x0168, D},    // Safe Position Return Time
      {0x3008, 0x0250, XD},   // Treatment Date
      {0x3008, 0x0251, XD},   // Treatment Time
      {0x300A, 0x0002, D},    // RT Plan Label
      {0x300A, 0x0003, X},    // RT Plan Name
      {0x300A, 0x0004, X},    // RT Plan Description
      {0x300A, 0x0006, XD},   // RT Plan Date
      {0x300A, 0x0007, XD},   // RT Plan Time
      {0x300A, 0x000B, X},    // Treatment Sites
      {0x300A, 0x000E, X},    // Prescription Description
      {0x300A, 0x0013, U},    // Dose Reference UID
      {0x300A, 0x0016, X},    // Dose Reference Description
      {0x300A, 0x0072, X},    // Fraction Group Description
      {0x300A, 0x0083, U},    // Referenced Dose Reference UID
      {0x300A, 0x00B2, XZ},   // Treatment Machine Name
      {0x300A, 0x00C3, X},    // Beam Description
      {0x300A, 0x00DD, X},    // Bolus Description
      {0x300A, 0x0196, X},    // Fixation Device Description
      {0x300A, 0x01A6, X},    // Shielding Device Description
      {0x300A, 0x01B2, X},    // Setup Technique Description
      {0x300A, 0x0216, X},    // Source Manufacturer
      {0x300A, 0x022C, D},    // Source Strength Reference Date
      {0x300A, 0x022E, D},    // Source Strength Reference Time
      {0x300A, 0x02EB, X},    // Compensator Description
      {0x300A, 0x0608, D},    // Treatment Position Group Label
      {0x300A, 0x0609, U},    // Treatment Position Group UID
      {0x300A, 0x0611, Z},    // RT Accessory Holder Slot ID
      {0x300A, 0x0615, Z},    // RT Accessory Device Slot ID
      {0x300A, 0x0619, D},    // Radiation Dose Identification Label
      {0x300A, 0x0623, D},    // Radiation Dose In-Vivo Measurement Label
      {0x300A, 0x062A, D},    // RT Tolerance Set Label
      {0x300A, 0x0650, U},    // Patient Setup UID
      {0x300A, 0x0676, X},    // Equipment Frame of Reference Description
      {0x300A, 0x067C, D},    // Radiation Generation Mode Label
      {0x300A, 0x067D, Z},    // Radiation Generation Mode Description
      {0x300A, 0x0700, U},    // Treatment Session UID
      {0x300A, 0x0734, D},    // Treatment Tolerance Violation Description
      {0x300A, 0x0736, D},    // Treatment Tolerance Violation DateTime
      {0x300A, 0x073A, D},    // Recorded RT Control Point DateTime
      {0x300A, 0x0741, D},    // Interlock DateTime
      {0x300A, 0x0742, D},    // Interlock Description
      {0x300A, 0x0760, D},    // Override DateTime
      {0x300A, 0x0783, D},    // Interlock Origin Description
      {0x300A, 0x0785, U},    // Referenced Treatment Position Group UID
      {0x300A, 0x078E, X},    // Patient Treatment Preparation Procedure Parameter Description
      {0x300A, 0x0792, X},    // Patient Treatment Preparation Method Description
      {0x300A, 0x0794, X},    // Patient Setup Photo Description
      {0x300A, 0x079A, X},    // Displacement Reference Label
      {0x300C, 0x0113, X},    // Reason for Omission Description
      {0x300C, 0x0127, D},    // Beam Hold Transition DateTime
      {0x300E, 0x0004, Z},    // Review Date
      {0x300E, 0x0005, Z},    // Review Time
      {0x300E, 0x0008, XZ},   // Reviewer Name
      {0x3010, 0x0006, U},    // Conceptual Volume UID
      {0x3010, 0x000B, U},    // Referenced Conceptual Volume UID
      {0x3010, 0x000F, Z},    // Conceptual Volume Combination Description
      {0x3010, 0x0013, U},    // Constituent Conceptual Volume UID
      {0x3010, 0x0015, U},    // Source Conceptual Volume UID
      {0x3010, 0x0017, Z},    // Conceptual Volume Description
      {0x3010, 0x001B, Z},    // Device Alternate Identifier
      {0x3010, 0x002D, D},    // Device Label
      {0x3010, 0x0031, U},    // Referenced Fiducials UID
      {0x3010, 0x0033, D},    // User Content Label
      {0x3010, 0x0034, D},    // User Content Long Label
      {0x3010, 0x0035, D},    // Entity Label
      {0x3010, 0x0036, X},    // Entity Name
      {0x3010, 0x0037, X},    // Entity Description
      {0x3010, 0x0038, D},    // Entity Long Label
      {0x3010, 0x003B, U},    // RT Treatment Phase UID
      {0x3010, 0x0043, Z},    // Manufacturer's Device Identifier
      {0x3010, 0x004C, XD},   // Intended Phase Start Date
      {0x3010, 0x004D, XD},   // Intended Phase End Date
      {0x3010, 0x0054, D},    // RT Prescription Label
      {0x3010, 0x0056, XD},   // RT Treatment Approach Label
      {0x3010, 0x005A, Z},    // RT Physician Intent Narrative
      {0x3010, 0x005C, Z},    // Reason for Superseding
      {0x3010, 0x0061, X},    // Prior Treatment Dose Description
      {0x3010, 0x006E, U},    // Dosimetric Objective UID
      {0x3010, 0x006F, U},    // Referenced Dosimetric Objective UID
      {0x3010, 0x0077, XD},   // Treatment Site
      {0x3010, 0x007A, Z},    // Treatment Technique Notes
      {0x3010, 0x007B, Z},    // Prescription Notes
      {0x3010, 0x007F, Z},    // Fractionation Notes
      {0x3010, 0x0081, Z},    // Prescription Notes Sequence
      {0x3010, 0x0085, X},    // Intended Fraction Start Time
      {0x4000, 0x0010, X},    // Arbitrary
      {0x4000, 0x4000, X},    // Text Comments
      {0x4008, 0x0040, X},    // Results ID
      {0x4008, 0x0042, X},    // Results ID Issuer
      {0x4008, 0x0100, X},    // Interpretation Recorded Date
      {0x4008, 0x0101, X},    // Interpretation Recorded Time
      {0x4008, 0x0102, X},    // Interpretation Recorder
      {0x4008, 0x0108, X},    // Interpretation Transcription Date
      {0x4008, 0x0109, X},    // Interpretation Transcription Time
      {0x4008, 0x010A, X},    // Interpretation Transcriber
      {0x4008, 0x010B, X},    // Interpretation Text
      {0x4008, 0x010C, X},    // Interpretation Author
      {0x4008, 0x0111, X},    // Interpretation Approver Sequence
      {0x4008, 0x0112, X},    // Interpretation Approval Date
      {0x4008, 0x0113, X},    // Interpretation Approval Time
      {0x4008, 0x0114, X},    // Physician Approving Interpretation
      {0x4008, 0x0115, X},    // Interpretation Diagnosis Description
      {0x4008, 0x0118, X},    // Results Distribution List Sequence
      {0x4008, 0x0119, X},    // Distribution Name
      {0x4008, 0x011A, X},    // Distribution Address
      {0x4008, 0x0200, X},    // Interpretation ID
      {0x4008, 0x0202, X},    // Interpretation ID Issuer
      {0x4008, 0x0300, X},    // Impressions
      {0x4008, 0x4000, X},    // Results Comments
      {0x5000, 0x0000, X, 0xFF00, 0x0000}, // Curve Data
      {0x6000, 0x3000, X, 0xFF00, 0xFFFF}, // Overlay Data
      {0x6000, 0x4000, X, 0xFF00, 0xFFFF}, // Overlay Comments
      {0xFFFA, 0xFFFA, X},    // Digital Signatures Sequence
      {0xFFFC, 0xFFFC, X},    // Data Set Trailing Padding
  };
  return table;
}

const ProfileAttribute* basic_profile_entry(uint16_t group, uint16_t element) {
  for (const auto& a : basic_profile()) {
    if (a.matches(group, element)) return &a;
  }
  return nullptr;
}

std::string to_string(ProfileAction action) {
  switch (action) {
    case ProfileAction::D: return "D";
    case ProfileAction::Z: return "Z";
    case ProfileAction::X: return "X";
    case ProfileAction::U: return "U";
    case ProfileAction::ZD: return "Z/D";
    case ProfileAction::XZ: return "X/Z";
    case ProfileAction::XD: return "X/D";
    case ProfileAction::XZD: return "X/Z/D";
    case ProfileAction::XZU: return "X/Z/U*";
  }
  return "?";
}

// What fedxray keeps. Everything else goes.
const std::vector<RetainedAttribute>& retained_attributes() {
  using R = Retain;
  static const std::vector<RetainedAttribute> list = {
      // Patient and study: Type 2, present but emptied (E.1-1: Z, Z/D) or pseudonymised.
      {0x0010, 0x0010, R::empty},      // Patient's Name
      {0x0010, 0x0020, R::pseudonym},  // Patient ID: keyed, so splits by patient stay possible
      {0x0010, 0x0030, R::empty},      // Patient's Birth Date
      {0x0010, 0x0040, R::empty},      // Patient's Sex
      {0x0008, 0x0020, R::empty},      // Study Date
      {0x0008, 0x0030, R::empty},      // Study Time
      {0x0008, 0x0023, R::empty},      // Content Date
      {0x0008, 0x0033, R::empty},      // Content Time
      {0x0008, 0x0050, R::empty},      // Accession Number
      {0x0008, 0x0090, R::empty},      // Referring Physician's Name
      {0x0020, 0x0010, R::empty},      // Study ID
      // Instances: consistent replacement UIDs (E.1-1: U); classes kept.
      {0x0008, 0x0016, R::keep},       // SOP Class UID
      {0x0008, 0x0018, R::new_uid},    // SOP Instance UID
      {0x0020, 0x000D, R::new_uid},    // Study Instance UID
      {0x0020, 0x000E, R::new_uid},    // Series Instance UID
      {0x0008, 0x0005, R::keep},       // Specific Character Set: what remains is read as written
      // What the image is: labels and acquisition geometry.
      {0x0008, 0x0008, R::keep},       // Image Type
      {0x0008, 0x0060, R::keep},       // Modality
      {0x0008, 0x0064, R::keep},       // Conversion Type
      {0x0008, 0x0068, R::keep},       // Presentation Intent Type
      {0x0008, 0x0070, R::keep},       // Manufacturer
      {0x0018, 0x0015, R::keep},       // Body Part Examined
      {0x0018, 0x5101, R::keep},       // View Position
      {0x0018, 0x1164, R::keep},       // Imager Pixel Spacing
      {0x0020, 0x0011, R::keep},       // Series Number
      {0x0020, 0x0012, R::keep},       // Acquisition Number
      {0x0020, 0x0013, R::keep},       // Instance Number
      {0x0020, 0x0020, R::keep},       // Patient Orientation
      {0x0020, 0x0060, R::keep},       // Laterality
      {0x0020, 0x0062, R::keep},       // Image Laterality
      {0x0008, 0x2218, R::keep},       // Anatomic Region Sequence
      {0x0008, 0x2220, R::keep},       // Anatomic Region Modifier Sequence
      {0x0040, 0x0260, R::keep},       // Performed Protocol Code Sequence
      {0x0054, 0x0220, R::keep},       // View Code Sequence
      {0x0054, 0x0222, R::keep},       // View Modifier Code Sequence
      {0x0008, 0x0100, R::keep},       // Code Value           (items of the code sequences)
      {0x0008, 0x0102, R::keep},       // Coding Scheme Designator
      {0x0008, 0x0103, R::keep},       // Coding Scheme Version
      {0x0008, 0x0104, R::keep},       // Code Meaning
      {0x0008, 0x0119, R::keep},       // Long Code Value
      {0x0008, 0x0120, R::keep},       // URN Code Value
      // Image pixel module and what turns stored values into the modality's values.
      {0x0028, 0x0002, R::keep},       // Samples per Pixel
      {0x0028, 0x0004, R::keep},       // Photometric Interpretation
      {0x0028, 0x0006, R::keep},       // Planar Configuration
      {0x0028, 0x0008, R::keep},       // Number of Frames
      {0x0028, 0x0009, R::keep},       // Frame Increment Pointer
      {0x0028, 0x0010, R::keep},       // Rows
      {0x0028, 0x0011, R::keep},       // Columns
      {0x0028, 0x0030, R::keep},       // Pixel Spacing
      {0x0028, 0x0034, R::keep},       // Pixel Aspect Ratio
      {0x0028, 0x0A02, R::keep},       // Pixel Spacing Calibration Type
      {0x0028, 0x0100, R::keep},       // Bits Allocated
      {0x0028, 0x0101, R::keep},       // Bits Stored
      {0x0028, 0x0102, R::keep},       // High Bit
      {0x0028, 0x0103, R::keep},       // Pixel Representation
      {0x0028, 0x0106, R::keep},       // Smallest Image Pixel Value
      {0x0028, 0x0107, R::keep},       // Largest Image Pixel Value
      {0x0028, 0x0120, R::keep},       // Pixel Padding Value
      {0x0028, 0x0121, R::keep},       // Pixel Padding Range Limit
      {0x0028, 0x0301, R::keep},       // Burned In Annotation
      {0x0028, 0x0302, R::keep},       // Recognizable Visual Features
      {0x0028, 0x1040, R::keep},       // Pixel Intensity Relationship
      {0x0028, 0x1041, R::keep},       // Pixel Intensity Relationship Sign
      {0x0028, 0x1050, R::keep},       // Window Center
      {0x0028, 0x1051, R::keep},       // Window Width
      {0x0028, 0x1052, R::keep},       // Rescale Intercept
      {0x0028, 0x1053, R::keep},       // Rescale Slope
      {0x0028, 0x1054, R::keep},       // Rescale Type
      {0x0028, 0x1056, R::keep},       // VOI LUT Function
      {0x0028, 0x2110, R::keep},       // Lossy Image Compression
      {0x0028, 0x2112, R::keep},       // Lossy Image Compression Ratio
      {0x0028, 0x2114, R::keep},       // Lossy Image Compression Method
      {0x0028, 0x3000, R::keep},       // Modality LUT Sequence
      {0x0028, 0x3002, R::keep},       // LUT Descriptor       (items of the Modality LUT)
      {0x0028, 0x3004, R::keep},       // Modality LUT Type
      {0x0028, 0x3006, R::keep},       // LUT Data
      {0x2050, 0x0020, R::keep},       // Presentation LUT Shape
      {0x7FE0, 0x0001, R::keep},       // Extended Offset Table
      {0x7FE0, 0x0002, R::keep},       // Extended Offset Table Lengths
      {0x7FE0, 0x0008, R::keep},       // Float Pixel Data
      {0x7FE0, 0x0009, R::keep},       // Double Float Pixel Data
      {0x7FE0, 0x0010, R::keep},       // Pixel Data
  };
  return list;
}

std::optional<Retain> retained_attribute(uint16_t group, uint16_t element) {
  static const std::map<std::pair<uint16_t, uint16_t>, Retain> index = [] {
    std::map<std::pair<uint16_t, uint16_t>, Retain> m;
    for (const auto& a : retained_attributes()) m[{a.group, a.element}] = a.how;
    return m;
  }();
  const auto it = index.find({group, element});
  if (it == index.end()) return std::nullopt;
  return it->second;
}

}  // namespace fedxray
