// ModelBlob: a model's weights as the wire sees them, torch-free — a manifest of named tensors
// (dtype, shape, byte range) and the raw little-endian bytes laid out back to back.
//
// The coordinator only ever handles models in this form; models/ converts to and from LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fedxray/proto/fedxray.pb.h"

namespace fedxray {

struct ModelBlob {
  wire::ModelManifest manifest;  // manifest.sha256 matches `bytes` once seal() has run
  std::string bytes;

  // Recomputes manifest.sha256 from bytes.
  void seal();
};

// Bytes per element; 0 for DTYPE_UNSPECIFIED or unknown values.
std::size_t dtype_size(wire::DType dtype);
const char* dtype_name(wire::DType dtype);
// One element of `dtype` at `at` (little-endian, unaligned) as a double, and back (integers
// rounded to nearest). Used where updates are handled element by element (secure aggregation).
double load_element(wire::DType dtype, const char* at);
void store_element(wire::DType dtype, double value, char* at);
// Elements in the whole model.
uint64_t element_count(const wire::ModelManifest& manifest);

// Appends a tensor at the end of the manifest's byte layout and grows total_bytes.
wire::TensorSpec& append_tensor(wire::ModelManifest& manifest, const std::string& name,
                                wire::DType dtype, const std::vector<int64_t>& shape);

// Empty string when the manifest is well formed: known dtypes, non-negative shapes, each
// tensor's nbytes = elements x dtype size, tensors contiguous from offset 0, total_bytes = sum,
// unique names. Otherwise a sentence saying what is wrong (for error replies and logs).
std::string manifest_problem(const wire::ModelManifest& manifest);

// Empty string when `candidate` has the same model, tensor names, dtypes and shapes as
// `reference`; otherwise the first difference, in words.
std::string layout_difference(const wire::ModelManifest& reference,
                              const wire::ModelManifest& candidate);

}  // namespace fedxray
