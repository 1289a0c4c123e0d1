#include "wire/model_blob.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "base/sha256.h"

namespace fedxray {

void ModelBlob::seal() { manifest.set_sha256(Sha256::of(bytes.data(), bytes.size())); }

std::size_t dtype_size(wire::DType dtype) {
  switch (dtype) {
    case wire::FLOAT32: return 4;
    case wire::FLOAT64: return 8;
    case wire::INT64: return 8;
    case wire::INT32: return 4;
    case wire::UINT8: return 1;
    default: return 0;
  }
}

const char* dtype_name(wire::DType dtype) {
  switch (dtype) {
    case wire::FLOAT32: return "float32";
    case wire::FLOAT64: return "float64";
    case wire::INT64: return "int64";
    case wire::INT32: return "int32";
    case wire::UINT8: return "uint8";
    default: return "unknown";
  }
}

wire::TensorSpec& append_tensor(wire::ModelManifest& manifest, const std::string& name,
                                wire::DType dtype, const std::vector<int64_t>& shape) {
  uint64_t elements = 1;
  for (int64_t d : shape) elements *= uint64_t(d);
  wire::TensorSpec* t = manifest.add_tensors();
  t->set_name(name);
  t->set_dtype(dtype);
  for (int64_t d : shape) t->add_shape(d);
  t->set_offset(manifest.total_bytes());
  t->set_nbytes(elements * dtype_size(dtype));
  manifest.set_total_bytes(manifest.total_bytes() + t->nbytes());
  return *t;
}

std::string manifest_problem(const wire::ModelManifest& m) {
  uint64_t expected_offset = 0;
  std::set<std::string> names;
  for (const auto& t : m.tensors()) {
    const std::string where = "tensor '" + t.name() + "'";
    if (t.name().empty()) return "a tensor has an empty name";
    if (!names.insert(t.name()).second) return where + " appears twice";
    std::size_t esize = dtype_size(t.dtype());
    if (esize == 0) return where + " has an unknown dtype (" + std::to_string(t.dtype()) + ")";
    uint64_t elements = 1;
    for (int64_t d : t.shape()) {
      if (d < 0 || d > (int64_t(1) << 40)) return where + " has an invalid dimension " + std::to_string(d);
      elements *= uint64_t(d);
      if (elements > (uint64_t(1) << 40)) return where + " is impossibly large";
    }
    if (t.nbytes() != elements * esize) {
      return where + " says " + std::to_string(t.nbytes()) + " bytes but its shape and dtype need " +
             std::to_string(elements * esize);
    }
    if (t.offset() != expected_offset) {
      return where + " starts at byte " + std::to_string(t.offset()) + ", expected " +
             std::to_string(expected_offset) + " (tensors must be back to back)";
    }
    expected_offset += t.nbytes();
  }
  if (m.total_bytes() != expected_offset) {
    return "total_bytes is " + std::to_string(m.total_bytes()) + " but the tensors add up to " +
           std::to_string(expected_offset);
  }
  return "";
}

std::string layout_difference(const wire::ModelManifest& ref, const wire::ModelManifest& cand) {
  if (ref.model() != cand.model()) {
    return "model is '" + cand.model() + "', expected '" + ref.model() + "'";
  }
  if (ref.tensors_size() != cand.tensors_size()) {
    return std::to_string(cand.tensors_size()) + " tensors, expected " +
           std::to_string(ref.tensors_size());
  }
  for (int i = 0; i < ref.tensors_size(); ++i) {
    const auto& a = ref.tensors(i);
    const auto& b = cand.tensors(i);
    if (a.name() != b.name()) return "tensor " + std::to_string(i) + " is '" + b.name() +
                                     "', expected '" + a.name() + "'";
    if (a.dtype() != b.dtype()) return "tensor '" + a.name() + "' has dtype " +
                                       dtype_name(b.dtype()) + ", expected " + dtype_name(a.dtype());
    if (a.shape_size() != b.shape_size() ||
        !std::equal(a.shape().begin(), a.shape().end(), b.shape().begin())) {
      return "tensor '" + a.name() + "' has a different shape";
    }
  }
  return "";
}

double load_element(wire::DType dtype, const char* at) {
  switch (dtype) {
    case wire::FLOAT32: { float v; std::memcpy(&v, at, 4); return v; }
    case wire::FLOAT64: { double v; std::memcpy(&v, at, 8); return v; }
    case wire::INT64: { int64_t v; std::memcpy(&v, at, 8); return double(v); }
    case wire::INT32: { int32_t v; std::memcpy(&v, at, 4); return v; }
    case wire::UINT8: return double(uint8_t(*at));
    default: return 0.0;
  }
}

void store_element(wire::DType dtype, double value, char* at) {
  switch (dtype) {
    case wire::FLOAT32: { float v = float(value); std::memcpy(at, &v, 4); break; }
    case wire::FLOAT64: std::memcpy(at, &value, 8); break;
    case wire::INT64: { int64_t v = std::llround(value); std::memcpy(at, &v, 8); break; }
    case wire::INT32: { int32_t v = int32_t(std::lround(value)); std::memcpy(at, &v, 4); break; }
    case wire::UINT8: *at = char(uint8_t(std::lround(std::clamp(value, 0.0, 255.0)))); break;
    default: break;
  }
}

uint64_t element_count(const wire::ModelManifest& manifest) {
  uint64_t n = 0;
  for (const auto& t : manifest.tensors()) {
    const std::size_t esize = dtype_size(t.dtype());
    if (esize) n += t.nbytes() / esize;
  }
  return n;
}

}  // namespace fedxray
