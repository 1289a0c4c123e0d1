// The proof for the privacy officer: a whole job on the real DICOM files in
// ../shared/data/dicom-cr-samples, with every byte the site sends recorded at the gRPC layer
// (a client interceptor sees each message before TLS encrypts it). None of the identifying
// values listed in TAGS.txt may appear (nor, when the site reads a real PACS, the UIDs and
// accession numbers that join its labels), and every field sent must be on an allow-list of
// numbers, enums and names the job itself defines.
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <grpcpp/support/client_interceptor.h>
#include <torch/torch.h>

#include "pki/tls.h"
#include "base/version.h"
#include "coordinator/transport/coordinator_service.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/round/job_runner.h"
#include "models/model_registry.h"
#include "models/model_weights.h"
#include "data/image_folder_source.h"
#include "data/pacs_source.h"
#include "site-agent/site_agent.h"
#include "training/torch_trainer.h"
#include "tests/orthanc_server.h"
#include "tests/test_support.h"
#include "tests/catch_after_torch.h"  // last: see the header
#include "tests/skip_test.h"  // after Catch

using namespace fedxray;
namespace fs = std::filesystem;
namespace pb = google::protobuf;

namespace {

const std::string kDicom = fedxray::testing::shared_data_dir() + "/dicom-cr-samples";

struct Sent {
  std::string method;
  std::string bytes;  // the serialized message, exactly as handed to the transport
};

struct Recorder {
  std::mutex mu;
  std::vector<Sent> messages;
  std::vector<std::pair<std::string, std::string>> metadata;  // custom metadata sent
};

class RecordingInterceptor : public grpc::experimental::Interceptor {
 public:
  RecordingInterceptor(grpc::experimental::ClientRpcInfo* info, Recorder& r) : info_(info), r_(r) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (m->QueryInterceptionHookPoint(Hook::PRE_SEND_INITIAL_METADATA)) {
      std::lock_guard<std::mutex> lock(r_.mu);
      for (const auto& [k, v] : *m->GetSendInitialMetadata()) r_.metadata.emplace_back(k, v);
    }
    if (m->QueryInterceptionHookPoint(Hook::PRE_SEND_MESSAGE)) {
      grpc::ByteBuffer* buffer = m->GetSerializedSendMessage();
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (buffer && buffer->Dump(&slices).ok()) {
        for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      std::lock_guard<std::mutex> lock(r_.mu);
      r_.messages.push_back({info_->method(), bytes});
    }
    m->Proceed();
  }

 private:
  grpc::experimental::ClientRpcInfo* info_;
  Recorder& r_;
};

class RecordingFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit RecordingFactory(Recorder& r) : r_(r) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo* info) override {
    return new RecordingInterceptor(info, r_);
  }

 private:
  Recorder& r_;
};

// Identifying values in TAGS.txt for the files present (3+ characters; kept-by-profile and
// class attributes excluded: they are not about the patient).
std::set<std::string> identifying_values(const std::vector<std::string>& present) {
  std::set<std::string> out;
  std::ifstream in(kDicom + "/TAGS.txt");
  std::string line, current;
  const std::set<std::string> not_identifying = {"Modality", "SOPClassUID", "PhotometricInterpretation",
                                                 "SpecificCharacterSet", "Manufacturer", "BodyPartExamined"};
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] != ' ') {
      current = line.substr(0, line.find("  "));
      continue;
    }
    if (std::find(present.begin(), present.end(), current) == present.end()) continue;
    const auto colon = line.find(": ");
    const auto start = line.find_first_not_of(' ');
    const std::string key = line.substr(start, colon - start), value = line.substr(colon + 2);
    if (!not_identifying.count(key) && value.size() >= 3 && value != "^^^^") out.insert(value);
  }
  for (const auto& file : present) {  // file names carry patient IDs too (77654033_CR1_...)
    out.insert(fs::path(file).stem().string());
  }
  return out;
}

// Every field of `m` must be a number, an enum, raw model bytes, or a string on the allow-list.
void check_allowed(const pb::Message& m, const std::set<std::string>& allowed_strings,
                   std::vector<std::string>& problems) {
  const pb::Reflection* r = m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const auto* f : fields) {
    const std::string name = f->full_name();
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) check_allowed(r->GetRepeatedMessage(m, f, i), allowed_strings, problems);
      } else {
        check_allowed(r->GetMessage(m, f), allowed_strings, problems);
      }
      continue;
    }
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) continue;  // numbers, enums, bools
    if (name == "fedxray.wire.UpdateChunk.data") continue;  // the weights themselves
    std::vector<std::string> values;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) values.push_back(r->GetRepeatedString(m, f, i));
    } else {
      values.push_back(r->GetString(m, f));
    }
    for (const auto& v : values) {
      const bool hex_digest = name == "fedxray.wire.ModelManifest.sha256" && v.size() == 64 &&
                              v.find_first_not_of("0123456789abcdef") == std::string::npos;
      if (!hex_digest && !allowed_strings.count(v)) problems.push_back(name + " = \"" + v + "\"");
    }
  }
}

// The DICOM samples present in ../shared/data.
std::vector<std::string> present_samples() {
  std::vector<std::string> present;
  for (const char* f : {"wg04/RG2_JPLY.dcm", "wg04/RG3_JPLY.dcm", "wg04/RG2_UNC.dcm", "wg04/RG3_UNC.dcm",
                        "pydicom-dicomdir-cr/77654033_CR1_6154.dcm",
                        "pydicom-dicomdir-cr/77654033_CR2_6247.dcm",
                        "pydicom-dicomdir-cr/77654033_CR3_6278.dcm"}) {
    if (fs::exists(kDicom + "/" + f)) present.push_back(f);
  }
  return present;
}

// Runs a two-round job with one site reading `source`, records every byte the site sends, and
// checks that none of `secrets` is in it and every field is on the allow-list.
void run_job_and_check_what_leaves(const std::shared_ptr<DataSource>& source,
                                   const std::set<std::string>& secrets, const std::string& dir,
                                   std::size_t gated_files) {
  torch::set_num_threads(1);
  const JobConfig job = testing::two_round_job("dicom-proof", 2, 32, 1, 4);
  ModelSpec spec{job.model, job.classes, job.image_size, job.seed};
  const ModelBlob initial = export_weights(*create_model(spec), spec);
  CoordinatorOptions options;
  options.state_dir = dir + "/state";
  CheckpointStore store(options.state_dir, job.name);
  JobRunner runner(job, options, initial, make_job_strategy(job, store.journal_dir()));
  CoordinatorServer server(runner, "127.0.0.1:0", make_server_credentials(testing::kit("coordinator")));

  Recorder recorder;
  DialOptions recording;
  recording.interceptors.push_back(std::make_unique<RecordingFactory>(recorder));
  TorchTrainer trainer(source);
  SiteAgent agent(dial("127.0.0.1:" + std::to_string(server.port()), testing::kit("site-a"),
                       std::move(recording)),
                  SiteAgentOptions{"site-a", 30}, trainer);
  std::thread site([&] { agent.run(); });
  const bool ok = runner.run();
  site.join();
  server.shutdown();
  REQUIRE(ok);

  // The images really went through the gate (and its report names no value).
  const std::string report = read_file(dir + "/deid/deid-report.json");
  CHECK(report.find("\"files\": " + std::to_string(gated_files)) != std::string::npos);

  std::set<std::string> allowed = {"site-a", kVersion, job.name, job.model, "downloading", "training",
                                   "evaluating", "uploading", ""};
  for (const auto& m : registered_models()) allowed.insert(m);
  for (const auto& t : initial.manifest.tensors()) allowed.insert(t.name());
  REQUIRE(secrets.size() > 10);
  std::vector<std::string> problems;
  std::size_t total = 0;
  std::set<std::string> methods;
  for (const auto& sent : recorder.messages) {
    total += sent.bytes.size();
    methods.insert(sent.method);
    for (const auto& value : secrets) {
      INFO(sent.method << " carries \"" << value << "\"");
      CHECK(sent.bytes.find(value) == std::string::npos);
    }
    std::unique_ptr<pb::Message> message;
    if (sent.method == "/fedxray.wire.Coordinator/Join") message = std::make_unique<wire::JoinRequest>();
    if (sent.method == "/fedxray.wire.Coordinator/GetWork") message = std::make_unique<wire::WorkRequest>();
    if (sent.method == "/fedxray.wire.Coordinator/DownloadModel") message = std::make_unique<wire::ModelRequest>();
    if (sent.method == "/fedxray.wire.Coordinator/UploadUpdate") message = std::make_unique<wire::UpdateChunk>();
    if (sent.method == "/fedxray.wire.Coordinator/Heartbeat") message = std::make_unique<wire::HeartbeatRequest>();
    INFO(sent.method);
    REQUIRE(message);  // no other call is made
    REQUIRE(message->ParseFromString(sent.bytes));
    check_allowed(*message, allowed, problems);
  }
  INFO("fields outside the allow-list: " << nlohmann::json(problems).dump());
  CHECK(problems.empty());
  CHECK(methods.count("/fedxray.wire.Coordinator/UploadUpdate") == 1);
  CHECK(total > initial.bytes.size());  // the weights were sent (twice) and all of it was checked
  for (const auto& [key, value] : recorder.metadata) {
    INFO(key << ": " << value);
    CHECK(key.rfind("grpc-", 0) == 0);  // nothing but gRPC's own headers
  }
}

}  // namespace

TEST_CASE("no patient identifier leaves the site during a whole job on real DICOM files", "[privacy-proof]") {
  const std::vector<std::string> present = present_samples();
  if (present.size() < 3) {
    FEDXRAY_SKIP("the DICOM samples in " << kDicom << " are absent (real data lives in ../shared/data)");
  }
  testing::TempDir dir;
  std::string manifest = "filename,label\n";
  for (std::size_t i = 0; i < present.size(); ++i) {
    manifest += kDicom + "/" + present[i] + "," + std::to_string(i % 2) + "\n";
  }
  std::ofstream(dir.path + "/labels.csv") << manifest;
  DataSourceConfig data;
  data.source = "image_folder";
  data.manifest = dir.path + "/labels.csv";
  data.held_out_fraction = 0.3;
  data.deid_cache = dir.path + "/deid";
  data.allow_paths_outside_manifest_folder = true;  // the samples stay in ../shared/data
  run_job_and_check_what_leaves(std::make_shared<ImageFolderSource>(data), identifying_values(present),
                                dir.path, present.size());
}

TEST_CASE("no patient identifier leaves the site during a whole job fed by a real PACS over DICOMweb",
          "[privacy-proof][pacs]") {
  const std::vector<std::string> present = present_samples();
  if (present.size() < 3) {
    FEDXRAY_SKIP("the DICOM samples in " << kDicom << " are absent (real data lives in ../shared/data)");
  }
  if (!testing::OrthancServer::available()) {
    FEDXRAY_SKIP("Orthanc with its DICOMweb plugin is not installed (scripts/setup.sh installs it)");
  }
  testing::TempDir dir;
  testing::OrthancServer pacs(dir.path + "/orthanc");
  // Labels by Study Instance UID (some samples have no accession number); the UIDs and the
  // accession numbers join labels to images at the site and must not leave it either.
  std::set<std::string> secrets = identifying_values(present);
  std::map<std::string, int> label_of_study;
  std::set<std::string> instances;
  for (std::size_t i = 0; i < present.size(); ++i) {
    const std::string file = kDicom + "/" + present[i];
    pacs.upload(file);
    DcmFileFormat dicom;
    REQUIRE(dicom.loadFile(file.c_str()).good());
    OFString study, sop, accession;
    dicom.getDataset()->findAndGetOFString(DCM_StudyInstanceUID, study);
    dicom.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, sop);
    dicom.getDataset()->findAndGetOFString(DCM_AccessionNumber, accession);
    label_of_study.emplace(study.c_str(), int(label_of_study.size() % 2));
    instances.insert(sop.c_str());
    for (const OFString& v : {study, sop, accession}) {
      if (v.length() >= 3) secrets.insert(v.c_str());
    }
  }
  std::string labels = "study_instance_uid,label\n";
  for (const auto& [study, label] : label_of_study) labels += study + "," + std::to_string(label) + "\n";
  std::ofstream(dir.path + "/labels.csv") << labels;
  DataSourceConfig data;
  data.source = "pacs";
  data.held_out_fraction = 0.3;
  data.deid_cache = dir.path + "/deid";
  data.pacs.url = pacs.dicomweb_url();
  data.pacs.labels = dir.path + "/labels.csv";
  run_job_and_check_what_leaves(std::make_shared<PacsSource>(data), secrets, dir.path, instances.size());
}
