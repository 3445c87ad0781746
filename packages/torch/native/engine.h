// Devices, autocast and the engine's identity: CUDA queries and synchronisation, libtorch's autocast state
// (thread-local, so every operator dispatched while it is on is cast by libtorch's own rules) and what the addon
// was compiled against. Free functions called by the Addon's entry points (addon.cc), which translate errors.
// Included once, by addon.cc, after handles.h.
#pragma once

#include <ATen/DeviceAccelerator.h>
#include <ATen/Version.h>
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

namespace {
namespace engine {

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA());
}
Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0);
}
c10::DeviceIndex cudaIndex(Napi::Env env, Napi::Value v, const char* op) {
  TORCH_CHECK(at::hasCUDA(), "CUDA is not available in this libtorch (or no GPU is visible)");
  int n = at::detail::getCUDAHooks().getNumGPUs();
  if (v.IsUndefined() || v.IsNull()) return at::detail::getCUDAHooks().current_device();
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && std::floor(d) == d && d < n))
    throwTorch(env, op, "device index must be an integer in [0, " + std::to_string(n) + ")");
  return static_cast<c10::DeviceIndex>(d);
}
// cudaSynchronize(index?): waits for every kernel queued on the device.
Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  at::accelerator::synchronizeDevice(cudaIndex(env, info[0], "cuda.synchronize"));
  return env.Undefined();
}
// cudaMemory(index?): [allocated, peak allocated, reserved] bytes of the caching allocator.
Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto stats = at::accelerator::getDeviceStats(cudaIndex(env, info[0], "cuda.memoryAllocated"));
  constexpr auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  auto arr = Napi::Array::New(env, 3);
  arr.Set(0u, Napi::Number::New(env, static_cast<double>(stats.allocated_bytes[all].current)));
  arr.Set(1u, Napi::Number::New(env, static_cast<double>(stats.allocated_bytes[all].peak)));
  arr.Set(2u, Napi::Number::New(env, static_cast<double>(stats.reserved_bytes[all].current)));
  return arr;
}

// ---- autocast: libtorch's own (thread-local) state, so every dispatched operator is cast by its rules ----
c10::DeviceType autocastDevice(Napi::Env env, Napi::Value v) {
  std::string d = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (d == "cpu") return c10::DeviceType::CPU;
  if (d == "cuda") return c10::DeviceType::CUDA;
  throwTorch(env, "autocast", "deviceType must be 'cpu' or 'cuda'");
}
// autocastGet(deviceType): [enabled, dtype, cacheEnabled]
Napi::Value AutocastGet(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto dev = autocastDevice(env, info[0]);
  auto arr = Napi::Array::New(env, 3);
  arr.Set(0u, Napi::Boolean::New(env, at::autocast::is_autocast_enabled(dev)));
  arr.Set(1u, Napi::String::New(env, dtypeName(at::autocast::get_autocast_dtype(dev))));
  arr.Set(2u, Napi::Boolean::New(env, at::autocast::is_autocast_cache_enabled()));
  return arr;
}
// autocastSet(deviceType, enabled, dtype, cacheEnabled)
Napi::Value AutocastSet(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto dev = autocastDevice(env, info[0]);
  auto dtype = parseDtype(env, info[2], "autocast");
  at::autocast::set_autocast_dtype(dev, dtype);
  at::autocast::set_autocast_enabled(dev, info[1].ToBoolean().Value());
  at::autocast::set_autocast_cache_enabled(info[3].ToBoolean().Value());
  return env.Undefined();
}
// autocastNesting(+1 | -1): PyTorch's enter/exit bookkeeping; leaving the outermost region clears the cache of
// casted weights (which would otherwise keep them alive).
Napi::Value AutocastNesting(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int delta = info[0].ToNumber().Int32Value();
  if (delta > 0) return Napi::Number::New(env, at::autocast::increment_nesting());
  int left = at::autocast::decrement_nesting();
  if (left == 0) at::autocast::clear_cache();
  return Napi::Number::New(env, left);
}

// engineInfo(): what this addon was compiled against and runs on.
Napi::Value EngineInfo(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("version", TORCH_VERSION);
  o.Set("cxx11abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI != 0));
  o.Set("cuda", Napi::Boolean::New(env, at::hasCUDA()));
  o.Set("cpuCapability", at::get_cpu_capability());
  return o;
}

}  // namespace engine
}  // namespace
