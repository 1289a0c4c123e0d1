// Wire format: named tensors + raw bytes in <= 1 MiB chunks, SHA-256 checked on receipt.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "wire/model_file.h"
#include "wire/model_stream.h"
#include "tests/test_support.h"

using namespace fedxray;

namespace {

ModelBlob send_and_receive(const ModelBlob& sent) {
  ModelAssembler assembler(sent.manifest);
  int chunks = 0;
  for_each_chunk(sent.bytes.size(), [&](uint64_t offset, std::size_t size) {
    REQUIRE(size <= kMaxChunkBytes);
    assembler.append(offset, sent.bytes.substr(offset, size));
    ++chunks;
  });
  CHECK(chunks == int((sent.bytes.size() + kMaxChunkBytes - 1) / kMaxChunkBytes));
  return assembler.finish();
}

}  // namespace

TEST_CASE("a model survives the chunked round trip with names, dtypes and shapes", "[wire]") {
  ModelBlob sent = testing::make_model({3, 700000, 5}, 11);  // spans several 1 MiB chunks
  ModelBlob got = send_and_receive(sent);
  CHECK(got.bytes == sent.bytes);
  REQUIRE(got.manifest.tensors_size() == 4);
  CHECK(got.manifest.tensors(1).name() == "layer1.weight");
  CHECK(got.manifest.tensors(1).shape(0) == 700000);
  CHECK(got.manifest.tensors(3).dtype() == wire::INT64);
  CHECK(got.manifest.sha256() == sent.manifest.sha256());
}

TEST_CASE("a flipped byte fails the SHA-256 check on receipt", "[wire]") {
  ModelBlob sent = testing::make_model({1000}, 3);
  ModelBlob corrupted = sent;
  corrupted.bytes[17] ^= 0x01;
  ModelAssembler assembler(sent.manifest);  // announces the original checksum
  assembler.append(0, corrupted.bytes);
  REQUIRE_THROWS_WITH(assembler.finish(), Catch::Contains("checksum mismatch"));
}

TEST_CASE("out-of-order, oversized, overlong and short streams are refused", "[wire]") {
  ModelBlob sent = testing::make_model({200000}, 5);  // under one chunk
  {
    ModelAssembler a(sent.manifest);
    REQUIRE_THROWS_WITH(a.append(4, sent.bytes.substr(4, 8)), Catch::Contains("out of order"));
  }
  {
    ModelAssembler a(sent.manifest);
    REQUIRE_THROWS_WITH(a.append(0, std::string(kMaxChunkBytes + 1, 'x')),
                        Catch::Contains("larger than 1 MiB"));
  }
  {
    ModelAssembler a(sent.manifest);
    a.append(0, sent.bytes);
    REQUIRE_THROWS_WITH(a.append(sent.bytes.size(), "x"), Catch::Contains("runs past"));
  }
  {
    ModelAssembler a(sent.manifest);
    a.append(0, sent.bytes.substr(0, 100));
    REQUIRE_THROWS_WITH(a.finish(), Catch::Contains("ended after 100 of"));
  }
}

TEST_CASE("a malformed manifest is refused before any byte is accepted", "[wire]") {
  ModelBlob sent = testing::make_model({10, 20}, 1);
  wire::ModelManifest bad = sent.manifest;
  bad.mutable_tensors(1)->set_offset(12);
  CHECK_THROWS_WITH(ModelAssembler(bad), Catch::Contains("must be back to back"));
  bad = sent.manifest;
  bad.mutable_tensors(0)->set_nbytes(41);
  CHECK_THROWS_WITH(ModelAssembler(bad), Catch::Contains("says 41 bytes"));
  bad = sent.manifest;
  bad.mutable_tensors(0)->set_dtype(wire::DTYPE_UNSPECIFIED);
  CHECK_THROWS_WITH(ModelAssembler(bad), Catch::Contains("unknown dtype"));
  bad = sent.manifest;
  bad.mutable_tensors(1)->set_name("layer0.weight");
  CHECK_THROWS_WITH(ModelAssembler(bad), Catch::Contains("appears twice"));
}

TEST_CASE("model files round trip and detect truncation and corruption", "[wire][store]") {
  testing::TempDir dir;
  const std::string path = dir.path + "/m.fxm";
  ModelBlob blob = testing::make_model({1234, 55}, 9);
  write_model_file(path, blob);
  ModelBlob back = read_model_file(path);
  CHECK(back.bytes == blob.bytes);
  CHECK(back.manifest.sha256() == blob.manifest.sha256());
  CHECK(read_file(path + ".sha256").substr(0, 64) == blob.manifest.sha256());

  std::string bytes = read_file(path);
  bytes[bytes.size() - 100] ^= 0x40;
  write_file_atomically(path, bytes);
  CHECK_THROWS_WITH(read_model_file(path), Catch::Contains("do not match the stored SHA-256"));
  write_file_atomically(path, bytes.substr(0, bytes.size() - 10));
  CHECK_THROWS_WITH(read_model_file(path), Catch::Contains("truncated or corrupt"));
  write_file_atomically(path, "hello, not a model at all, but long enough to have a header......"
                              "..............................................................");
  CHECK_THROWS_WITH(read_model_file(path), Catch::Contains("bad magic"));
}

TEST_CASE("an abandoned atomic write leaves the old file and no temp file", "[store]") {
  testing::TempDir dir;
  const std::string path = dir.path + "/state.bin";
  write_file_atomically(path, "old complete contents");
  {
    AtomicFileWriter w(path);
    w.write("new but unfinished", 18);
    // destroyed without commit(), as when the process dies mid-write
  }
  CHECK(read_file(path) == "old complete contents");
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("a model file writer refuses a byte count that differs from the manifest", "[store]") {
  testing::TempDir dir;
  ModelBlob blob = testing::make_model({100}, 2);
  ModelFileWriter w(dir.path + "/x.fxm", blob.manifest);
  w.write(blob.bytes.data(), blob.bytes.size() - 4);
  CHECK_THROWS_WITH(w.commit(), Catch::Contains("got"));
  CHECK_FALSE(std::filesystem::exists(dir.path + "/x.fxm"));
}
