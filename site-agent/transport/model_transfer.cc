#include "site-agent/transport/model_transfer.h"

#include "base/error.h"
#include "wire/model_stream.h"

namespace fedxray {

ModelBlob download_model(wire::Coordinator::Stub& stub, const std::string& job_id, int round,
                         uint64_t max_bytes) {
  grpc::ClientContext context;
  wire::ModelRequest request;
  request.set_job_id(job_id);
  request.set_round(uint32_t(round));
  auto reader = stub.DownloadModel(&context, request);
  wire::ModelChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_manifest()) {
    grpc::Status s = reader->Finish();
    throw Error("downloading the model for round " + std::to_string(round) + " failed: " +
                (s.ok() ? "the stream had no manifest" : s.error_message()));
  }
  if (chunk.manifest().total_bytes() > max_bytes) {
    context.TryCancel();
    throw ShareableError("the global model for round " + std::to_string(round) + " is " +
                         std::to_string(chunk.manifest().total_bytes() >> 20) +
                         " MiB, more than this site's policy 'max_model_mb' (" +
                         std::to_string(max_bytes >> 20) + " MiB); the site refuses the round");
  }
  ModelAssembler assembler(chunk.manifest(), max_bytes);
  do {
    assembler.append(chunk.offset(), chunk.data());
  } while (reader->Read(&chunk));
  grpc::Status s = reader->Finish();
  if (!s.ok()) throw Error("downloading the model failed: " + s.error_message());
  return assembler.finish();
}

grpc::Status upload_update(wire::Coordinator::Stub& stub, const std::string& job_id, int round,
                           const ModelBlob& model, uint64_t sample_count,
                           const wire::LocalMetrics& metrics) {
  grpc::ClientContext context;
  wire::UploadReply reply;
  auto writer = stub.UploadUpdate(&context, &reply);
  wire::UpdateChunk chunk;
  wire::UpdateHeader* header = chunk.mutable_header();
  header->set_job_id(job_id);
  header->set_round(uint32_t(round));
  header->set_sample_count(sample_count);
  *header->mutable_manifest() = model.manifest;
  *header->mutable_metrics() = metrics;
  bool ok = true;
  if (model.bytes.empty()) ok = writer->Write(chunk);
  for_each_chunk(model.bytes.size(), [&](uint64_t offset, std::size_t size) {
    if (!ok) return;
    chunk.set_offset(offset);
    chunk.set_data(model.bytes.data() + offset, size);
    ok = writer->Write(chunk);
    chunk.clear_header();
  });
  writer->WritesDone();
  return writer->Finish();
}

}  // namespace fedxray
