// c10d's Reducer (the gradient bucketing of PyTorch's DistributedDataParallel) for torch.nn.GradientReducer, with a
// comm hook that records when each bucket's all-reduce starts. Included once, by distributed.h (its holders, guards
// and tags).
#pragma once

namespace {

// Launch times of the Reducer's bucket all-reduces (steady clock), for the overlap proof and profiling.
struct BucketLaunch {
  size_t index;
  int64_t bytes;
  double ms;
};
struct Timeline {
  std::mutex mu;
  std::vector<BucketLaunch> launches;
};

#ifdef CLIMADIFF_HAVE_REDUCER
// The Reducer's default reduction (each bucket divided by the world size, then summed across ranks), with the
// launch time of each bucket's all-reduce recorded.
class TimedAllReduceHook : public c10d::CppCommHookInterface<c10::intrusive_ptr<c10d::ProcessGroup>> {
 public:
  TimedAllReduceHook(const c10::intrusive_ptr<c10d::ProcessGroup>& pg, std::shared_ptr<Timeline> timeline)
      : c10d::CppCommHookInterface<c10::intrusive_ptr<c10d::ProcessGroup>>(pg), timeline_(std::move(timeline)) {}
  c10::intrusive_ptr<c10::ivalue::Future> runHook(c10d::GradBucket& bucket) override {
    auto& buffer = bucket.getBufferRef();
    {
      std::lock_guard<std::mutex> lock(timeline_->mu);
      timeline_->launches.push_back(
          {bucket.getIndex(), static_cast<int64_t>(buffer.numel() * buffer.element_size()), steadyMs()});
    }
    buffer.div_(state_->getSize());
    std::vector<at::Tensor> tensors = {buffer};
    return state_->allreduce(tensors)->getFuture();
  }

 private:
  std::shared_ptr<Timeline> timeline_;
};
#endif

struct ReducerHolder {
#ifdef CLIMADIFF_HAVE_REDUCER
  std::shared_ptr<c10d::Reducer> reducer;
#endif
  std::shared_ptr<Timeline> timeline;
};

// ---- Reducer (DistributedDataParallel's gradient buckets) -----------------------------------------------

// reducer(group, params, bucketCapBytes, firstBucketBytes, findUnusedParameters, gradientAsBucketView, timeline)
// As torch.nn.parallel.DistributedDataParallel builds it: one bucket (in reverse parameter order) until the
// first backward has shown the real order of gradients, then buckets rebuilt in that order with the caps.
Napi::Value DistReducer(const Napi::CallbackInfo& info) {
  auto env = info.Env();
#ifdef CLIMADIFF_HAVE_REDUCER
  auto& pg = groupOf(env, info[0]);
  auto params = distTensors(env, info[1], "parameters");
  if (params.empty()) throwTorch(env, "distributed", "DistributedDataParallel needs parameters that require grad");
  auto cap = static_cast<int64_t>(info[2].ToNumber().DoubleValue());
  auto first = static_cast<int64_t>(info[3].ToNumber().DoubleValue());
  bool findUnused = info[4].ToBoolean().Value();
  bool asView = info[5].ToBoolean().Value();
  bool timed = info[6].ToBoolean().Value();
  std::vector<bool> sparse(params.size(), false);
  // DistributedDataParallel's BucketCapacityConfig.compute_bucket_size_limits, for the initial assignment.
  std::vector<size_t> limits = {static_cast<size_t>(cap)};
  if (!findUnused) limits = {std::numeric_limits<size_t>::max()};
  else if (first < cap) limits = {static_cast<size_t>(first), static_cast<size_t>(cap)};
  auto [indices, perBucket] = c10d::compute_bucket_assignment_by_size(params, limits, sparse);
  std::reverse(indices.begin(), indices.end());
  auto h = std::make_unique<ReducerHolder>();
  h->reducer = std::make_shared<c10d::Reducer>(params, indices, pg, sparse, cap, findUnused, asView,
                                               std::unordered_map<size_t, std::string>(), first,
                                               /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
                                               std::vector<int64_t>());
  if (timed) {
    h->timeline = std::make_shared<Timeline>();
    h->reducer->register_comm_hook(std::make_unique<TimedAllReduceHook>(pg, h->timeline));
  }
  return wrapHolder(env, h.release(), kReducerTag);
#else
  throwTorch(env, "distributed", "DistributedDataParallel needs the c10d Reducer of PyTorch >= 2.13's libtorch");
#endif
}

#ifdef CLIMADIFF_HAVE_REDUCER
c10d::Reducer& reducerOf(Napi::Env env, Napi::Value v) {
  return *holderOf<ReducerHolder>(env, v, kReducerTag, "Reducer")->reducer;
}
#endif

// reducerPrepareForward(reducer): true when the buckets were rebuilt (once, before the second forward).
Napi::Value DistReducerPrepareForward(const Napi::CallbackInfo& info) {
  auto env = info.Env();
#ifdef CLIMADIFF_HAVE_REDUCER
  auto& r = reducerOf(env, info[0]);
  r.prepare_for_forward();
  return Napi::Boolean::New(env, r.rebuild_buckets());
#else
  return env.Undefined();
#endif
}

// reducerPrepareBackward(reducer, outputs): arms the gradient hooks for the next backward (outputs are searched
// for unused parameters when the Reducer was asked to find them).
Napi::Value DistReducerPrepareBackward(const Napi::CallbackInfo& info) {
  auto env = info.Env();
#ifdef CLIMADIFF_HAVE_REDUCER
  reducerOf(env, info[0]).prepare_for_backward(distTensors(env, info[1], "outputs"));
#endif
  return env.Undefined();
}

// reducerTimeline(reducer): [{bucket, bytes, ms}] since the last call (empty unless created with timeline).
Napi::Value DistReducerTimeline(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* h = holderOf<ReducerHolder>(env, info[0], kReducerTag, "Reducer");
  auto arr = Napi::Array::New(env);
  if (!h->timeline) return arr;
  std::lock_guard<std::mutex> lock(h->timeline->mu);
  for (size_t i = 0; i < h->timeline->launches.size(); i++) {
    const auto& l = h->timeline->launches[i];
    auto o = Napi::Object::New(env);
    o.Set("bucket", static_cast<double>(l.index));
    o.Set("bytes", static_cast<double>(l.bytes));
    o.Set("ms", l.ms);
    arr.Set(i, o);
  }
  h->timeline->launches.clear();
  return arr;
}

}  // namespace
