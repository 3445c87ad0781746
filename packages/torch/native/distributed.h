// torch.distributed on c10d, the collectives library compiled into the linked libtorch: stores (TCPStore, FileStore,
// PrefixStore), process groups with their Gloo backend (created in gloo_backend.cc, the only file that sees gloo's
// headers), collectives returning c10d Work handles, and c10d's Reducer (the gradient bucketing that PyTorch's
// DistributedDataParallel is built on). Nothing here implements a collective: every byte moves through c10d.
// Included once, by addon.cc (handles.h's anonymous namespace: tensorOf, wrapTensor, throwTorch, isTagged).
#pragma once

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/version.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// The c10d Reducer's constructor as used below is PyTorch 2.13's (bucket_bytes_cap_list, batched_grad_copy).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 13)
#define CLIMADIFF_HAVE_REDUCER 1
#endif

namespace climadiff_dist {
bool glooAvailable(std::string* why);
c10::intrusive_ptr<c10d::Backend> makeGlooBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                  std::chrono::milliseconds timeout, const std::string& hostname,
                                                  int threads);
}  // namespace climadiff_dist

namespace {

const napi_type_tag kStoreTag = {0x6c696d6164696666ULL, 0x73746f7265303031ULL};
const napi_type_tag kGroupTag = {0x6c696d6164696666ULL, 0x67726f7570303031ULL};
const napi_type_tag kWorkTag = {0x6c696d6164696666ULL, 0x776f726b30303031ULL};
const napi_type_tag kReducerTag = {0x6c696d6164696666ULL, 0x7265647563723031ULL};

struct StoreHolder {
  c10::intrusive_ptr<c10d::Store> store;
};
struct GroupHolder {
  c10::intrusive_ptr<c10d::ProcessGroup> pg;  // null once destroyed
  std::string backend;
};
struct WorkHolder {
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<at::Tensor> divide;  // ReduceOp.AVG on a backend without it: sum, then divide these on completion
  int64_t divisor = 1;
  bool finished = false;
};

/** A steady clock in ms: the Reducer's launch timeline and distributed.nowMs() share it. */
double steadyMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename H>
Napi::Value wrapHolder(Napi::Env env, H* h, const napi_type_tag& tag) {
  auto ext = Napi::External<H>::New(env, h, [](Napi::Env, H* p) {
    try {
      delete p;
    } catch (...) {  // c10d destructors may throw (the Reducer's is noexcept(false)): never abort in a finaliser
    }
  });
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &tag), Napi::Value());
  return ext;
}

template <typename H>
H* holderOf(Napi::Env env, Napi::Value v, const napi_type_tag& tag, const char* what) {
  if (!isTagged(env, v, tag)) throwTorch(env, "distributed", std::string("argument must be a ") + what);
  return v.As<Napi::External<H>>().Data();
}

const c10::intrusive_ptr<c10d::ProcessGroup>& groupOf(Napi::Env env, Napi::Value v) {
  auto* g = holderOf<GroupHolder>(env, v, kGroupTag, "ProcessGroup");
  if (!g->pg) throwTorch(env, "distributed", "the process group was destroyed");
  return g->pg;
}

std::vector<at::Tensor> distTensors(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsArray()) throwTorch(env, "distributed", std::string(what) + " must be an array of Tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(tensorOf(env, arr.Get(i), what));
  return out;
}

std::chrono::milliseconds msArg(Napi::Value v, std::chrono::milliseconds fallback) {
  if (!v.IsNumber()) return fallback;
  double ms = v.As<Napi::Number>().DoubleValue();
  return ms > 0 ? std::chrono::milliseconds(static_cast<int64_t>(ms)) : fallback;
}

std::string strArg(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsString()) throwTorch(env, "distributed", std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// ReduceOp by PyTorch's name; avg is reported back so the caller can emulate it where the backend lacks it.
c10d::ReduceOp reduceOpOf(Napi::Env env, Napi::Value v, bool* avg) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "sum";
  *avg = false;
  if (s == "sum") return c10d::ReduceOp(c10d::ReduceOp::SUM);
  if (s == "avg") {
    *avg = true;
    return c10d::ReduceOp(c10d::ReduceOp::SUM);
  }
  if (s == "product") return c10d::ReduceOp(c10d::ReduceOp::PRODUCT);
  if (s == "min") return c10d::ReduceOp(c10d::ReduceOp::MIN);
  if (s == "max") return c10d::ReduceOp(c10d::ReduceOp::MAX);
  throwTorch(env, "distributed", "reduce op must be 'sum', 'avg', 'product', 'min' or 'max' (got '" + s + "')");
}

void checkAvgTensors(Napi::Env env, const std::vector<at::Tensor>& ts) {
  for (const auto& t : ts)
    if (!at::isFloatingType(t.scalar_type()) && !at::isComplexType(t.scalar_type()))
      throwTorch(env, "distributed", "reduce op 'avg' needs floating-point tensors (got " +
                                         std::string(c10::toString(t.scalar_type())) + ")");
}

Napi::Value wrapWork(Napi::Env env, c10::intrusive_ptr<c10d::Work> w, std::vector<at::Tensor> divide = {},
                     int64_t divisor = 1) {
  return wrapHolder(env, new WorkHolder{std::move(w), std::move(divide), divisor, false}, kWorkTag);
}

using DistFn = Napi::Value (*)(const Napi::CallbackInfo&);

// Every entry point: libtorch / c10d errors (DistError, DistNetworkError, DistStoreError, timeouts) become JS
// exceptions, never an abort.
template <DistFn F>
Napi::Value distGuarded(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throwTorch(env, "distributed", firstLine(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throwTorch(env, "distributed", firstLine(e.what()));
  } catch (...) {
    throwTorch(env, "distributed", "unknown native error");
  }
}

// ---- availability -------------------------------------------------------------------------------

Napi::Value DistAvailable(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  std::string why;
  bool gloo = climadiff_dist::glooAvailable(&why);
  o.Set("gloo", gloo);
  o.Set("glooWhy", why);
#ifdef CLIMADIFF_HAVE_REDUCER
  o.Set("reducer", true);
#else
  o.Set("reducer", false);
#endif
  return o;
}

Napi::Value DistNowMs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), steadyMs()); }

// ---- stores ---------------------------------------------------------------------------------------

// tcpStore(host, port, isServer, worldSize (<= 0: unknown), timeoutMs, waitWorkers, multiTenant)
Napi::Value DistTcpStore(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  c10d::TCPStoreOptions o;
  int port = info[1].ToNumber().Int32Value();
  if (port < 0 || port > 65535) throwTorch(env, "distributed", "port must be in 0..65535");
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = info[2].ToBoolean().Value();
  int world = info[3].IsNumber() ? info[3].ToNumber().Int32Value() : -1;
  if (world > 0) o.numWorkers = static_cast<size_t>(world);
  o.timeout = msArg(info[4], c10d::Store::kDefaultTimeout);
  o.waitWorkers = info[5].IsBoolean() ? info[5].ToBoolean().Value() : true;
  o.multiTenant = info[6].ToBoolean().Value();
  auto s = c10::make_intrusive<c10d::TCPStore>(strArg(env, info[0], "host"), o);
  return wrapHolder(env, new StoreHolder{s}, kStoreTag);
}

// fileStore(path, worldSize)
Napi::Value DistFileStore(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto s = c10::make_intrusive<c10d::FileStore>(strArg(env, info[0], "path"), info[1].ToNumber().Int32Value());
  return wrapHolder(env, new StoreHolder{s}, kStoreTag);
}

// prefixStore(prefix, store): keys become prefix + "/" + key, as torch.distributed.PrefixStore.
Napi::Value DistPrefixStore(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* base = holderOf<StoreHolder>(env, info[1], kStoreTag, "Store");
  auto s = c10::make_intrusive<c10d::PrefixStore>(strArg(env, info[0], "prefix"), base->store);
  return wrapHolder(env, new StoreHolder{s}, kStoreTag);
}

Napi::Value DistStoreSet(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* s = holderOf<StoreHolder>(env, info[0], kStoreTag, "Store");
  if (!info[2].IsBuffer()) throwTorch(env, "distributed", "store value must be a Buffer");
  auto b = info[2].As<Napi::Buffer<uint8_t>>();
  s->store->set(strArg(env, info[1], "key"), std::vector<uint8_t>(b.Data(), b.Data() + b.Length()));
  return env.Undefined();
}

Napi::Value DistStoreGet(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* s = holderOf<StoreHolder>(env, info[0], kStoreTag, "Store");
  auto v = s->store->get(strArg(env, info[1], "key"));
  return Napi::Buffer<uint8_t>::Copy(env, v.data(), v.size());
}

Napi::Value DistStoreAdd(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* s = holderOf<StoreHolder>(env, info[0], kStoreTag, "Store");
  auto r = s->store->add(strArg(env, info[1], "key"), static_cast<int64_t>(info[2].ToNumber().DoubleValue()));
  return Napi::Number::New(env, static_cast<double>(r));
}

// storeWait(store, keys, timeoutMs)
Napi::Value DistStoreWait(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* s = holderOf<StoreHolder>(env, info[0], kStoreTag, "Store");
  if (!info[1].IsArray()) throwTorch(env, "distributed", "keys must be an array of strings");
  auto arr = info[1].As<Napi::Array>();
  std::vector<std::string> keys;
  for (uint32_t i = 0; i < arr.Length(); i++) keys.push_back(strArg(env, arr.Get(i), "key"));
  s->store->wait(keys, msArg(info[2], s->store->getTimeout()));
  return env.Undefined();
}

// ---- process groups ---------------------------------------------------------------------------------

// newGroup(store, rank, size, backend, timeoutMs, groupName, hostname, threads): the same construction as
// torch.distributed's _new_process_group_helper, so that a Python peer that called init_process_group on the same
// store joins the same group: the group's store is PrefixStore(groupName + "/", store); the backend's is
// PrefixStore("cpu/", that), one Gloo backend serves CPU and CUDA tensors, and its sequence number is agreed on.
Napi::Value DistNewGroup(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* sh = holderOf<StoreHolder>(env, info[0], kStoreTag, "Store");
  int rank = info[1].ToNumber().Int32Value();
  int size = info[2].ToNumber().Int32Value();
  if (size < 1 || rank < 0 || rank >= size)
    throwTorch(env, "distributed", "rank " + std::to_string(rank) + " is not in a group of size " + std::to_string(size));
  std::string backend = strArg(env, info[3], "backend");
  auto timeout = msArg(info[4], std::chrono::milliseconds(30 * 60 * 1000));
  std::string name = strArg(env, info[5], "group name");
  std::string hostname = info[6].IsString() ? info[6].As<Napi::String>().Utf8Value() : "";
  int threads = info[7].IsNumber() ? info[7].ToNumber().Int32Value() : 0;
  auto groupStore = c10::make_intrusive<c10d::PrefixStore>(name + "/", sh->store);
  auto pg = c10::make_intrusive<c10d::ProcessGroup>(groupStore, rank, size);
  if (backend == "gloo") {
    auto b = climadiff_dist::makeGlooBackend(c10::make_intrusive<c10d::PrefixStore>("cpu/", groupStore), rank, size,
                                             timeout, hostname, threads);
    b->setSequenceNumberForGroup();
    pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
    pg->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, b);
    pg->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::GLOO, b);
  } else if (backend == "nccl") {
    throwTorch(env, "distributed", "NCCL is not built into this addon: it needs a CUDA libtorch with NCCL's headers");
  } else {
    throwTorch(env, "distributed", "backend must be 'gloo' or 'nccl' (got '" + backend + "')");
  }
  pg->setGroupName(name);
  return wrapHolder(env, new GroupHolder{pg, backend}, kGroupTag);
}

Napi::Value DistGroupInfo(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* g = holderOf<GroupHolder>(env, info[0], kGroupTag, "ProcessGroup");
  auto o = Napi::Object::New(env);
  o.Set("destroyed", !g->pg);
  o.Set("backend", g->backend);
  if (g->pg) {
    o.Set("rank", g->pg->getRank());
    o.Set("size", g->pg->getSize());
    o.Set("name", g->pg->getGroupName());
  }
  return o;
}

// destroyGroup(group): waits for queued work, then releases the group's connections (its threads are joined).
Napi::Value DistDestroyGroup(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* g = holderOf<GroupHolder>(env, info[0], kGroupTag, "ProcessGroup");
  g->pg.reset();
  return env.Undefined();
}

// ---- collectives (each returns a Work) ------------------------------------------------------------

// allReduce(group, tensors, op, timeoutMs)
Napi::Value DistAllReduce(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& pg = groupOf(env, info[0]);
  auto ts = distTensors(env, info[1], "tensors");
  bool avg = false;
  c10d::AllreduceOptions o;
  o.reduceOp = reduceOpOf(env, info[2], &avg);
  o.timeout = msArg(info[3], o.timeout);
  if (avg) checkAvgTensors(env, ts);
  auto w = pg->allreduce(ts, o);
  return avg ? wrapWork(env, w, ts, pg->getSize()) : wrapWork(env, w);
}

// broadcast(group, tensors, root, timeoutMs)
Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& pg = groupOf(env, info[0]);
  auto ts = distTensors(env, info[1], "tensors");
  c10d::BroadcastOptions o;
  o.rootRank = info[2].ToNumber().Int32Value();
  o.timeout = msArg(info[3], o.timeout);
  if (o.rootRank < 0 || o.rootRank >= pg->getSize()) throwTorch(env, "distributed", "broadcast root is not a rank of the group");
  return wrapWork(env, pg->broadcast(ts, o));
}

// allGather(group, outputs (one per rank), input, timeoutMs)
Napi::Value DistAllGather(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& pg = groupOf(env, info[0]);
  std::vector<std::vector<at::Tensor>> outs = {distTensors(env, info[1], "outputs")};
  std::vector<at::Tensor> ins = {tensorOf(env, info[2], "input")};
  if (static_cast<int>(outs[0].size()) != pg->getSize())
    throwTorch(env, "distributed", "allGather needs one output tensor per rank (" + std::to_string(pg->getSize()) + ")");
  c10d::AllgatherOptions o;
  o.timeout = msArg(info[3], o.timeout);
  return wrapWork(env, pg->allgather(outs, ins, o));
}

// allGatherInto(group, output (world size x input, concatenated on dim 0), input, timeoutMs)
Napi::Value DistAllGatherInto(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& pg = groupOf(env, info[0]);
  auto out = tensorOf(env, info[1], "output");
  auto in = tensorOf(env, info[2], "input");
  c10d::AllgatherOptions o;
  o.timeout = msArg(info[3], o.timeout);
  return wrapWork(env, pg->_allgather_base(out, in, o));
}

// reduceScatter(group, output, inputs (one per rank), op, timeoutMs)
Napi::Value DistReduceScatter(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& pg = groupOf(env, info[0]);
  std::vector<at::Tensor> outs = {tensorOf(env, info[1], "output")};
  std::vector<std::vector<at::Tensor>> ins = {distTensors(env, info[2], "inputs")};
  if (static_cast<int>(ins[0].size()) != pg->getSize())
    throwTorch(env, "distributed", "reduceScatter needs one input tensor per rank (" + std::to_string(pg->getSize()) + ")");
  bool avg = false;
  c10d::ReduceScatterOptions o;
  o.reduceOp = reduceOpOf(env, info[3], &avg);
  o.timeout = msArg(info[4], o.timeout);
  if (avg) checkAvgTensors(env, outs);
  auto w = pg->reduce_scatter(outs, ins, o);
  return avg ? wrapWork(env, w, outs, pg->getSize()) : wrapWork(env, w);
}

// barrier(group, timeoutMs)
Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& pg = groupOf(env, info[0]);
  c10d::BarrierOptions o;
  o.timeout = msArg(info[1], o.timeout);
  return wrapWork(env, pg->barrier(o));
}

// broadcastCoalesced(group, tensors, bufferBytes, root): synchronous, flattening tensors into buffers of at most
// bufferBytes (c10d's broadcast_coalesced, as DDP's initial parameter broadcast).
Napi::Value DistBroadcastCoalesced(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& pg = groupOf(env, info[0]);
  auto ts = distTensors(env, info[1], "tensors");
  auto bytes = static_cast<size_t>(info[2].ToNumber().DoubleValue());
  c10d::broadcast_coalesced(pg, ts, bytes, info[3].ToNumber().Int32Value());
  return env.Undefined();
}

// workWait(work, timeoutMs): true when it completed; throws the collective's error (or the timeout).
Napi::Value DistWorkWait(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* w = holderOf<WorkHolder>(env, info[0], kWorkTag, "Work");
  if (!w->finished) {
    auto timeout = info[1].IsNumber() ? msArg(info[1], kNoTimeout) : kNoTimeout;
    w->work->wait(timeout);
    for (auto& t : w->divide) t.div_(w->divisor);
    w->divide.clear();
    w->finished = true;
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value DistWorkCompleted(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* w = holderOf<WorkHolder>(env, info[0], kWorkTag, "Work");
  return Napi::Boolean::New(env, w->finished || w->work->isCompleted());
}

#include "reducer.h"

Napi::Object distributedExports(Napi::Env env) {
  auto o = Napi::Object::New(env);
  auto add = [&](const char* name, Napi::Function::Callback f) { o.Set(name, Napi::Function::New(env, f, name)); };
  add("available", distGuarded<DistAvailable>);
  add("nowMs", distGuarded<DistNowMs>);
  add("tcpStore", distGuarded<DistTcpStore>);
  add("fileStore", distGuarded<DistFileStore>);
  add("prefixStore", distGuarded<DistPrefixStore>);
  add("storeSet", distGuarded<DistStoreSet>);
  add("storeGet", distGuarded<DistStoreGet>);
  add("storeAdd", distGuarded<DistStoreAdd>);
  add("storeWait", distGuarded<DistStoreWait>);
  add("newGroup", distGuarded<DistNewGroup>);
  add("groupInfo", distGuarded<DistGroupInfo>);
  add("destroyGroup", distGuarded<DistDestroyGroup>);
  add("allReduce", distGuarded<DistAllReduce>);
  add("broadcast", distGuarded<DistBroadcast>);
  add("allGather", distGuarded<DistAllGather>);
  add("allGatherInto", distGuarded<DistAllGatherInto>);
  add("reduceScatter", distGuarded<DistReduceScatter>);
  add("barrier", distGuarded<DistBarrier>);
  add("broadcastCoalesced", distGuarded<DistBroadcastCoalesced>);
  add("workWait", distGuarded<DistWorkWait>);
  add("workCompleted", distGuarded<DistWorkCompleted>);
  add("reducer", distGuarded<DistReducer>);
  add("reducerPrepareForward", distGuarded<DistReducerPrepareForward>);
  add("reducerPrepareBackward", distGuarded<DistReducerPrepareBackward>);
  add("reducerTimeline", distGuarded<DistReducerTimeline>);
  return o;
}

}  // namespace
