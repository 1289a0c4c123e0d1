#include "models/torchscript_model.h"

#include <cstdio>
#include <sstream>

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/script.h>

#include "base/error.h"
#include "models/model_weights.h"

namespace fedxray {
namespace {

// Finds or creates the submodule chain for "a.b.c.weight" and returns the module owning "weight".
torch::jit::Module owner_of(torch::jit::Module root, const std::string& dotted, std::string& leaf,
                            const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  std::vector<std::string> parts;
  std::stringstream ss(dotted);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  leaf = parts.back();
  torch::jit::Module current = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string name = parts[i];
    if (!current.hasattr(name)) {
      torch::jit::Module child(c10::QualifiedName("__torch__.fedxray.Layer_" + std::to_string(i) + "_" + name), cu, true);
      current.register_module(name, child);
    }
    current = current.attr(name).toModule();
  }
  return current;
}

}  // namespace

void export_torchscript(const ModelBlob& blob, const std::string& path) {
  std::shared_ptr<ImageClassifier> model = model_from_blob(blob);
  model->eval();
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module root(c10::QualifiedName("__torch__.fedxray.Model"), cu, true);
  for (const auto& p : model->named_parameters()) {
    std::string leaf;
    owner_of(root, p.key(), leaf, cu).register_parameter(leaf, p.value(), false);
  }
  for (const auto& b : model->named_buffers()) {
    std::string leaf;
    owner_of(root, b.key(), leaf, cu).register_buffer(leaf, b.value());
  }
  const int64_t s = int64_t(blob.manifest.image_size());
  root.register_attribute("fedxray_classes", c10::IntType::get(), int64_t(blob.manifest.classes()));
  root.register_attribute("fedxray_image_size", c10::IntType::get(), s);
  root.register_attribute("fedxray_task", c10::StringType::get(),
                          label_task_name(parse_label_task(blob.manifest.task())));
  torch::NoGradGuard no_grad;
  auto traced = torch::jit::tracer::trace(
      {torch::zeros({1, 1, s, s})},
      [&](torch::jit::Stack inputs) -> torch::jit::Stack {
        return {model->forward(inputs.at(0).toTensor())};
      },
      [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false,
      /*force_outplace=*/false, &root);
  std::shared_ptr<torch::jit::Graph> graph = traced.first->graph;
  auto* fn = cu->create_function(c10::QualifiedName(*root.type()->name(), "forward"), graph);
  root.type()->addMethod(fn);
  const std::string temp = path + ".tmp";
  try {
    root.save(temp);  // then renamed: readers never see a half-written model
  } catch (const c10::Error& e) {
    std::remove(temp.c_str());
    throw Error(path + ": cannot write the TorchScript model: " + e.what_without_backtrace());
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw Error(path + ": cannot move the TorchScript model into place");
  }
}

namespace {

// Adapts a loaded TorchScript module to the ImageClassifier interface fedxray evaluates with.
class TorchScriptClassifier : public ImageClassifier {
 public:
  explicit TorchScriptClassifier(torch::jit::Module module) : module_(std::move(module)) {
    module_.eval();
  }
  torch::Tensor forward(torch::Tensor images) override {
    return module_.forward({images}).toTensor();
  }

 private:
  torch::jit::Module module_;
};

}  // namespace

LoadedTorchScript load_torchscript(const std::string& path) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a loadable TorchScript model: " + e.what_without_backtrace());
  }
  if (!module.hasattr("fedxray_classes") || !module.hasattr("fedxray_image_size")) {
    throw Error(path + ": a TorchScript model without fedxray_classes / fedxray_image_size; "
                "export it with `fedxray export`");
  }
  LoadedTorchScript out;
  out.classes = int(module.attr("fedxray_classes").toInt());
  out.image_size = int(module.attr("fedxray_image_size").toInt());
  if (module.hasattr("fedxray_task")) {
    out.task = parse_label_task(module.attr("fedxray_task").toStringRef());
  }
  out.model = std::make_shared<TorchScriptClassifier>(std::move(module));
  return out;
}

}  // namespace fedxray
