// @climadiff/torch native bridge.
//
// Deliberately small (see DESIGN.md): tensor handles owning at::Tensor, ONE generic boxed call into the
// ATen dispatcher (callOp), the schema registry for the TypeScript generator, autograd entry points,
// data in/out, generators and error translation. Everything operator-specific lives in TypeScript.
//
// Safety rules: every entry point catches c10::Error / std::exception and turns it into a JavaScript
// TorchError; handles are napi externals carrying a type tag, so a foreign value can never be
// reinterpreted as a tensor; a disposed handle throws instead of touching freed memory.

#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "handles.h"
#include "engine.h"
#include "process.h"
#include "distributed.h"

namespace {

// ---------------------------------------------------------------------------------------------
// Addon instance (one per JS environment: main thread and every worker_thread)

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;  // "aten::add.Tensor"
  std::vector<int> returnAlias;  // for each return: index of the argument it writes to, or -1
  std::vector<bool> returnIsView;  // return aliases an input without writing (a view)
};

// Reused IValue stacks: a per-call std::vector allocation is a measurable part of a small op's cost.
// A lease returns its (cleared) stack to a small per-thread pool; nested calls simply get another.
thread_local std::vector<torch::jit::Stack> tlsStacks;
struct StackLease {
  torch::jit::Stack stack;
  StackLease() {
    if (!tlsStacks.empty()) {
      stack = std::move(tlsStacks.back());
      tlsStacks.pop_back();
    } else {
      stack.reserve(16);
    }
  }
  ~StackLease() {
    stack.clear();
    if (tlsStacks.size() < 8) tlsStacks.push_back(std::move(stack));
  }
};

constexpr size_t kMaxOps = 16384;
std::array<std::atomic<OpEntry*>, kMaxOps> gOps{};
std::atomic<size_t> gOpCount{0};
std::mutex gOpMutex;

struct Addon : public Napi::Addon<Addon> {
  Napi::FunctionReference errorClass;
  SlotTable* tensors = new SlotTable();

  ~Addon() {
    tensors->addonGone = true;
    for (auto& sl : tensors->slots) sl.t = at::Tensor();
    if (tensors->pendingFinalizers == 0) delete tensors;
  }

  Addon(Napi::Env env, Napi::Object exports) {
    process::configureOnce();
    DefineAddon(exports, {
        InstanceValue("distributed", distributedExports(env), napi_enumerable),
        InstanceMethod("setErrorClass", &Addon::SetErrorClass),
        InstanceMethod("listSchemas", &Addon::ListSchemas),
        InstanceMethod("lookupOp", &Addon::LookupOp),
        InstanceMethod("callOp", &Addon::CallOp),
        InstanceMethod("fromBuffer", &Addon::FromBuffer),
        InstanceMethod("toBuffer", &Addon::ToBuffer),
        InstanceMethod("item", &Addon::Item),
        InstanceMethod("dispose", &Addon::Dispose),
        InstanceMethod("isDisposed", &Addon::IsDisposed),
        InstanceMethod("disposeMany", &Addon::DisposeMany),
        InstanceMethod("liveTensors", &Addon::LiveTensors),
        InstanceMethod("attachFinalizer", &Addon::AttachFinalizer),
        InstanceMethod("shape", &Addon::Shape),
        InstanceMethod("strides", &Addon::Strides),
        InstanceMethod("dtype", &Addon::Dtype),
        InstanceMethod("device", &Addon::Device),
        InstanceMethod("numel", &Addon::Numel),
        InstanceMethod("sameTensor", &Addon::SameTensor),
        InstanceMethod("requiresGrad", &Addon::RequiresGrad),
        InstanceMethod("setRequiresGrad", &Addon::SetRequiresGrad),
        InstanceMethod("isLeaf", &Addon::IsLeaf),
        InstanceMethod("getGrad", &Addon::GetGrad),
        InstanceMethod("setGrad", &Addon::SetGrad),
        InstanceMethod("hasGradFn", &Addon::HasGradFn),
        InstanceMethod("backward", &Addon::Backward),
        InstanceMethod("grad", &Addon::Grad),
        InstanceMethod("isGradEnabled", &Addon::IsGradEnabled),
        InstanceMethod("setGradEnabled", &Addon::SetGradEnabled),
        InstanceMethod("setNumThreads", &Addon::SetNumThreads),
        InstanceMethod("getNumThreads", &Addon::GetNumThreads),
        InstanceMethod("manualSeed", &Addon::ManualSeed),
        InstanceMethod("defaultGenerator", &Addon::DefaultGenerator),
        InstanceMethod("newGenerator", &Addon::NewGenerator),
        InstanceMethod("generatorSeed", &Addon::GeneratorSeed),
        InstanceMethod("generatorDevice", &Addon::GeneratorDevice),
        InstanceMethod("generatorGetState", &Addon::GeneratorGetState),
        InstanceMethod("generatorSetState", &Addon::GeneratorSetState),
        InstanceMethod("cudaIsAvailable", &Addon::CudaIsAvailable),
        InstanceMethod("cudaDeviceCount", &Addon::CudaDeviceCount),
        InstanceMethod("cudaSynchronize", &Addon::CudaSynchronize),
        InstanceMethod("cudaMemory", &Addon::CudaMemory),
        InstanceMethod("autocastGet", &Addon::AutocastGet),
        InstanceMethod("autocastSet", &Addon::AutocastSet),
        InstanceMethod("autocastNesting", &Addon::AutocastNesting),
        InstanceMethod("engineInfo", &Addon::EngineInfo),
        InstanceMethod("config", &Addon::Config),
        InstanceMethod("allocatorPolicy", &Addon::AllocatorPolicy),
        InstanceMethod("releaseMemory", &Addon::ReleaseMemory),
    });
  }

  // Every entry point runs through guard(): libtorch errors become TorchError with the op name.
  template <typename F>
  Napi::Value guard(Napi::Env env, const std::string& op, F&& f) {
    try {
      return f();
    } catch (const Napi::Error&) {
      throw;
    } catch (const c10::Error& e) {
      throwTorch(env, op, firstLine(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      throwTorch(env, op, firstLine(e.what()));
    } catch (...) {
      throwTorch(env, op, "unknown native error");
    }
  }

  Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
    if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass expects a class");
    errorClass = Napi::Persistent(info[0].As<Napi::Function>());
    return info.Env().Undefined();
  }

  // ---- schema registry ----------------------------------------------------------------------

  static Napi::Object argumentToJs(Napi::Env env, const c10::Argument& a) {
    auto o = Napi::Object::New(env);
    o.Set("name", a.name());
    o.Set("type", a.real_type()->annotation_str());
    if (a.N()) o.Set("n", static_cast<double>(*a.N()));
    if (a.default_value()) {
      std::ostringstream ss;
      ss << *a.default_value();
      o.Set("default", ss.str());
    }
    o.Set("kwargOnly", a.kwarg_only());
    if (a.alias_info()) {
      o.Set("isWrite", a.alias_info()->isWrite());
      std::string sets;
      for (auto& s : a.alias_info()->beforeSets()) sets += (sets.empty() ? "" : "|") + std::string(s.toUnqualString());
      o.Set("alias", sets);
    }
    return o;
  }

  Napi::Value ListSchemas(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "listSchemas", [&]() -> Napi::Value {
      auto names = c10::Dispatcher::singleton().getAllOpNames();
      auto arr = Napi::Array::New(env);
      uint32_t k = 0;
      for (auto& n : names) {
        auto h = c10::Dispatcher::singleton().findSchema(n);
        if (!h) continue;
        const auto& s = h->schema();
        auto o = Napi::Object::New(env);
        o.Set("name", s.name());
        o.Set("overload", s.overload_name());
        auto args = Napi::Array::New(env, s.arguments().size());
        for (size_t i = 0; i < s.arguments().size(); i++) args.Set(i, argumentToJs(env, s.arguments()[i]));
        auto rets = Napi::Array::New(env, s.returns().size());
        for (size_t i = 0; i < s.returns().size(); i++) rets.Set(i, argumentToJs(env, s.returns()[i]));
        o.Set("arguments", args);
        o.Set("returns", rets);
        o.Set("isVararg", s.is_vararg());
        std::ostringstream ss;
        ss << s;
        o.Set("schema", ss.str());
        arr.Set(k++, o);
      }
      return arr;
    });
  }

  Napi::Value LookupOp(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (!info[0].IsString() || !info[1].IsString())
      throw Napi::TypeError::New(env, "lookupOp(name, overload) expects two strings");
    auto name = info[0].As<Napi::String>().Utf8Value();
    auto overload = info[1].As<Napi::String>().Utf8Value();
    return guard(env, name, [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(gOpMutex);
      size_t n = gOpCount.load();
      std::string full = overload.empty() ? name : name + "." + overload;
      for (size_t i = 0; i < n; i++)
        if (gOps[i].load()->name == full) return Napi::Number::New(env, static_cast<double>(i));
      auto h = c10::Dispatcher::singleton().findSchema({name, overload});
      if (!h) throwTorch(env, full, "no such operator in this libtorch");
      if (n >= kMaxOps) throwTorch(env, full, "operator table full");
      auto* e = new OpEntry{*h, full, {}, {}};
      const auto& s = h->schema();
      for (const auto& r : s.returns()) {
        int alias = -1;
        bool view = false;
        if (r.alias_info()) {
          for (size_t i = 0; i < s.arguments().size(); i++) {
            const auto* ai = s.arguments()[i].alias_info();
            if (ai && ai->beforeSets() == r.alias_info()->beforeSets()) {
              if (r.alias_info()->isWrite()) alias = static_cast<int>(i);
              else view = true;
              break;
            }
          }
        }
        e->returnAlias.push_back(alias);
        e->returnIsView.push_back(view);
      }
      gOps[n].store(e);
      gOpCount.store(n + 1);
      return Napi::Number::New(env, static_cast<double>(n));
    });
  }

  // ---- argument conversion (JS value -> IValue, driven by the schema's real type) -------------

  static std::string jsTypeName(Napi::Value v) {
    switch (v.Type()) {
      case napi_undefined: return "undefined";
      case napi_null: return "null";
      case napi_boolean: return "boolean";
      case napi_number: return "number";
      case napi_string: return "string";
      case napi_symbol: return "symbol";
      case napi_object: return v.IsArray() ? "array" : "object";
      case napi_function: return "function";
      case napi_external: return "external";
      case napi_bigint: return "bigint";
    }
    return "value";
  }

  [[noreturn]] void badArg(Napi::Env env, const std::string& op, const c10::Argument& a, const std::string& want,
                           Napi::Value v) {
    throwTorch(env, op,
               "argument '" + a.name() + "' must be " + want + " (schema type " + a.real_type()->annotation_str() +
                   "), got " + jsTypeName(v));
  }

  const at::Tensor& argTensor(Napi::Env env, const std::string& op, const c10::Argument& a, Napi::Value v) {
    bool stale = false;
    Slot* s = slotOf(env, v, &stale);
    if (s) return s->t;
    if (stale) throwTorch(env, op, "argument '" + a.name() + "' is a disposed Tensor");
    badArg(env, op, a, "a Tensor", v);
  }

  int64_t toInt(Napi::Env env, const std::string& op, const c10::Argument& a, Napi::Value v) {
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= 9007199254740992.0) return static_cast<int64_t>(d);
      badArg(env, op, a, "an integer", v);
    }
    if (v.IsBigInt()) {
      bool lossless = false;
      int64_t r = v.As<Napi::BigInt>().Int64Value(&lossless);
      if (lossless) return r;
    }
    if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
    badArg(env, op, a, "an integer", v);
  }

  c10::IValue toIValue(Napi::Env env, const std::string& op, const c10::Argument& a, const c10::TypePtr& type,
                       Napi::Value v) {
    using K = c10::TypeKind;
    switch (type->kind()) {
      case K::OptionalType:
        if (v.IsUndefined() || v.IsNull()) return c10::IValue();
        return toIValue(env, op, a, type->castRaw<c10::OptionalType>()->getElementType(), v);
      case K::TensorType:
        return argTensor(env, op, a, v);
      case K::IntType:
      case K::SymIntType:
        return c10::IValue(toInt(env, op, a, v));
      case K::FloatType:
        if (v.IsNumber()) return c10::IValue(v.As<Napi::Number>().DoubleValue());
        if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value() ? 1.0 : 0.0);
        badArg(env, op, a, "a number", v);
      case K::BoolType:
        if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
        if (v.IsNumber()) return c10::IValue(v.As<Napi::Number>().DoubleValue() != 0);
        badArg(env, op, a, "a boolean", v);
      case K::NumberType: {
        // Scalar: JS integers become int Scalars (so int tensors keep their dtype, as in Python)
        if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
        if (v.IsNumber()) {
          double d = v.As<Napi::Number>().DoubleValue();
          if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0)
            return c10::IValue(static_cast<int64_t>(d));
          return c10::IValue(d);
        }
        if (v.IsBigInt()) return c10::IValue(toInt(env, op, a, v));
        badArg(env, op, a, "a number", v);
      }
      case K::StringType:
        if (v.IsString()) return c10::IValue(v.As<Napi::String>().Utf8Value());
        badArg(env, op, a, "a string", v);
      case K::ScalarTypeType:
        return c10::IValue(static_cast<int64_t>(parseDtype(env, v, op)));
      case K::LayoutType:
        return c10::IValue(static_cast<int64_t>(parseLayout(env, v, op)));
      case K::MemoryFormatType:
        return c10::IValue(static_cast<int64_t>(parseMemoryFormat(env, v, op)));
      case K::DeviceObjType:
        if (v.IsString()) return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
        badArg(env, op, a, "a device string such as 'cpu' or 'cuda:0'", v);
      case K::GeneratorType:
        if (!isTagged(env, v, kGeneratorTag)) badArg(env, op, a, "a torch.Generator", v);
        return c10::IValue(generatorOf(env, v));
      case K::ListType: {
        auto elem = type->castRaw<c10::ListType>()->getElementType();
        auto ek = elem->kind();
        bool isIntLike = ek == K::IntType || ek == K::SymIntType;
        // int[N] / bool[N] accept a single value that is broadcast to N entries (as in Python)
        if (!v.IsArray()) {
          if (a.N() && (isIntLike || ek == K::BoolType || ek == K::FloatType) && (v.IsNumber() || v.IsBoolean())) {
            if (isIntLike) return c10::IValue(c10::List<int64_t>(std::vector<int64_t>(*a.N(), toInt(env, op, a, v))));
            if (ek == K::BoolType) {
              c10::List<bool> l;
              for (int64_t i = 0; i < *a.N(); i++) l.push_back(v.ToBoolean().Value());
              return c10::IValue(l);
            }
            return c10::IValue(c10::List<double>(std::vector<double>(*a.N(), v.ToNumber().DoubleValue())));
          }
          badArg(env, op, a, "an array", v);
        }
        auto arr = v.As<Napi::Array>();
        uint32_t len = arr.Length();
        auto listOf = [&](auto tag, auto&& conv) {
          c10::List<decltype(tag)> l;
          l.reserve(len);
          for (uint32_t i = 0; i < len; i++) l.push_back(conv(arr.Get(i)));
          return c10::IValue(l);
        };
        if (isIntLike) return listOf(int64_t{}, [&](Napi::Value e) { return toInt(env, op, a, e); });
        if (ek == K::FloatType)
          return listOf(double{}, [&](Napi::Value e) {
            if (!e.IsNumber()) badArg(env, op, a, "an array of numbers", e);
            return e.As<Napi::Number>().DoubleValue();
          });
        if (ek == K::BoolType)
          return listOf(bool{}, [&](Napi::Value e) {
            if (!e.IsBoolean()) badArg(env, op, a, "an array of booleans", e);
            return e.As<Napi::Boolean>().Value();
          });
        if (ek == K::TensorType)
          return listOf(at::Tensor{}, [&](Napi::Value e) { return argTensor(env, op, a, e); });
        if (ek == K::OptionalType &&
            elem->castRaw<c10::OptionalType>()->getElementType()->kind() == K::TensorType) {
          c10::List<c10::optional<at::Tensor>> l;
          for (uint32_t i = 0; i < len; i++) {
            auto e = arr.Get(i);
            if (e.IsUndefined() || e.IsNull()) {
              l.push_back(c10::nullopt);
              continue;
            }
            l.push_back(argTensor(env, op, a, e));
          }
          return c10::IValue(l);
        }
        if (ek == K::NumberType) {
          std::vector<at::Scalar> sc;
          for (uint32_t i = 0; i < len; i++) {
            auto e = arr.Get(i);
            if (!e.IsNumber()) badArg(env, op, a, "an array of numbers", e);
            sc.emplace_back(e.As<Napi::Number>().DoubleValue());
          }
          return c10::IValue(sc);
        }
        throwTorch(env, op, "argument '" + a.name() + "' has unsupported list type " + type->annotation_str());
      }
      default:
        throwTorch(env, op, "argument '" + a.name() + "' has unsupported type " + type->annotation_str());
    }
  }

  // ---- result conversion ----------------------------------------------------------------------

  // A Scalar as JS: a boolean, or a number (integers exactly up to 2^53).
  static Napi::Value scalarToJs(Napi::Env env, const c10::Scalar& s) {
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    return Napi::Number::New(env, s.toDouble());
  }

  Napi::Value fromIValue(Napi::Env env, const std::string& op, c10::IValue v, bool account) {
    if (v.isNone()) return env.Undefined();
    if (v.isTensor()) return wrapTensor(env, std::move(v).toTensor(), account);
    if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
    if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
    if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
    if (v.isString()) return Napi::String::New(env, v.toStringRef());
    if (v.isDevice()) return Napi::String::New(env, deviceString(v.toDevice()));
    if (v.isScalar()) return scalarToJs(env, v.toScalar());
    if (v.isTensorList()) {
      auto l = v.toTensorList();
      auto arr = Napi::Array::New(env, l.size());
      for (size_t i = 0; i < l.size(); i++) arr.Set(i, wrapTensor(env, l.get(i), account));
      return arr;
    }
    if (v.isList()) {
      auto l = v.toListRef();
      auto arr = Napi::Array::New(env, l.size());
      for (size_t i = 0; i < l.size(); i++) arr.Set(i, fromIValue(env, op, l[i], account));
      return arr;
    }
    if (v.isTuple()) {
      auto& elems = v.toTupleRef().elements();
      auto arr = Napi::Array::New(env, elems.size());
      for (size_t i = 0; i < elems.size(); i++) arr.Set(i, fromIValue(env, op, elems[i], account));
      return arr;
    }
    throwTorch(env, op, std::string("unsupported return type ") + v.tagKind());
  }

  // callOp(opId, ...args): the one generic call into the ATen dispatcher. Arguments are positional
  // in schema order; undefined means "use the schema default" (or None for optionals).
  // Returns: undefined for no result, the single result, or an array for several results. A result
  // that aliases a written argument (in-place / out=) is returned as null: the caller returns that
  // argument itself so no second handle exists for the same tensor.
  Napi::Value CallOp(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "callOp expects an operator id");
    double idd = info[0].As<Napi::Number>().DoubleValue();
    size_t id = static_cast<size_t>(idd);
    if (idd < 0 || idd != static_cast<double>(id) || id >= gOpCount.load())
      throw Napi::TypeError::New(env, "callOp: unknown operator id");
    OpEntry* e = gOps[id].load();
    const auto& schema = e->handle.schema();
    const auto& args = schema.arguments();
    size_t given = info.Length() - 1;
    if (given > args.size())
      throwTorch(env, e->name,
                 "takes at most " + std::to_string(args.size()) + " arguments but " + std::to_string(given) +
                     " were given");
    return guard(env, e->name, [&]() -> Napi::Value {
      StackLease lease;
      torch::jit::Stack& stack = lease.stack;
      for (size_t i = 0; i < args.size(); i++) {
        const auto& a = args[i];
        Napi::Value v = i < given ? info[i + 1] : env.Undefined();
        if (v.IsUndefined()) {
          if (a.default_value()) {
            stack.push_back(*a.default_value());
            continue;
          }
          if (a.real_type()->kind() == c10::TypeKind::OptionalType) {
            stack.emplace_back();
            continue;
          }
          throwTorch(env, e->name, "missing required argument '" + a.name() + "' (position " + std::to_string(i) + ")");
        }
        stack.push_back(toIValue(env, e->name, a, a.real_type(), v));
      }
      e->handle.callBoxed(&stack);
      size_t nret = stack.size();
      if (nret == 0) return env.Undefined();
      auto one = [&](size_t i) -> Napi::Value {
        if (i < e->returnAlias.size() && e->returnAlias[i] >= 0) return env.Null();
        bool view = i < e->returnIsView.size() && e->returnIsView[i];
        return fromIValue(env, e->name, std::move(stack[i]), !view);
      };
      if (nret == 1) return one(0);
      auto arr = Napi::Array::New(env, nret);
      for (size_t i = 0; i < nret; i++) arr.Set(i, one(i));
      return arr;
    });
  }

  // ---- data in / out ---------------------------------------------------------------------------

  // fromBuffer(typedArrayOrArrayBuffer, shape, dtype): one copy from JS memory into a new tensor.
  Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "fromBuffer", [&]() -> Napi::Value {
      const uint8_t* data = nullptr;
      size_t bytes = 0;
      if (info[0].IsTypedArray()) {
        auto ta = info[0].As<Napi::TypedArray>();
        data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
        bytes = ta.ByteLength();
      } else if (info[0].IsArrayBuffer()) {
        auto ab = info[0].As<Napi::ArrayBuffer>();
        data = static_cast<const uint8_t*>(ab.Data());
        bytes = ab.ByteLength();
      } else {
        throwTorch(env, "fromBuffer", "data must be a TypedArray or ArrayBuffer");
      }
      if (!info[1].IsArray()) throwTorch(env, "fromBuffer", "shape must be an array of integers");
      auto sh = info[1].As<Napi::Array>();
      std::vector<int64_t> sizes;
      int64_t numel = 1;
      for (uint32_t i = 0; i < sh.Length(); i++) {
        auto v = sh.Get(i);
        double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
        if (!(d >= 0 && std::floor(d) == d && d < 9e15)) throwTorch(env, "fromBuffer", "shape entries must be non-negative integers");
        sizes.push_back(static_cast<int64_t>(d));
        numel *= sizes.back();
      }
      auto dtype = parseDtype(env, info[2], "fromBuffer");
      auto t = at::empty(sizes, at::TensorOptions().dtype(dtype));
      size_t need = static_cast<size_t>(numel) * t.element_size();
      if (need != bytes)
        throwTorch(env, "fromBuffer",
                   "data has " + std::to_string(bytes) + " bytes but shape and dtype need " + std::to_string(need));
      if (need) std::memcpy(t.data_ptr(), data, need);
      return wrapTensor(env, std::move(t));
    });
  }

  // toBuffer(tensor, dtype?): one copy into a new ArrayBuffer (contiguous, CPU, optional conversion).
  Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "toBuffer", [&]() -> Napi::Value {
      const auto& t = tensorOf(env, info[0], "tensor");
      auto dtype = info[1].IsUndefined() ? t.scalar_type() : parseDtype(env, info[1], "toBuffer");
      auto nbytes = static_cast<size_t>(t.numel()) * c10::elementSize(dtype);
      auto ab = Napi::ArrayBuffer::New(env, nbytes);
      if (nbytes) {
        auto dst = at::from_blob(ab.Data(), t.sizes(), at::TensorOptions().dtype(dtype));
        c10::AutoGradMode noGrad(false);
        dst.copy_(t);
      }
      return ab;
    });
  }

  Napi::Value Item(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "item", [&]() -> Napi::Value {
      const auto& t = tensorOf(env, info[0], "tensor");
      if (t.numel() != 1)
        throwTorch(env, "item", "a Tensor with " + std::to_string(t.numel()) + " elements cannot be converted to a number");
      auto s = t.item();
      if (s.isComplex()) throwTorch(env, "item", "complex tensors have no real item()");
      return scalarToJs(env, s);
    });
  }

  // dispose(id): frees the tensor now. Idempotent; returns whether it was live.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    Slot* s = slotOf(env, info[0]);
    if (s) releaseSlot(env, *s);
    return Napi::Boolean::New(env, s != nullptr);
  }

  // disposeMany(ids: Float64Array): frees several tensors in one call (torch.scope's exit path); a
  // typed array is read directly, without one napi call per element.
  Napi::Value DisposeMany(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throwTorch(env, "disposeMany", "expects a Float64Array of tensor ids");
    auto ids = info[0].As<Napi::Float64Array>();
    auto& tab = *tensors;
    for (size_t i = 0; i < ids.ElementLength(); i++) {
      double d = ids[i];
      if (!(d >= 0 && d < 9007199254740992.0)) continue;
      auto id = static_cast<uint64_t>(d);
      uint64_t idx = id & kSlotMask;
      if (idx < tab.slots.size() && tab.slots[idx].live && tab.slots[idx].gen == (id >> kSlotBits))
        releaseSlot(env, tab.slots[idx]);
    }
    return env.Undefined();
  }

  Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), slotOf(info.Env(), info[0]) == nullptr);
  }

  // attachFinalizer(tensorObject, id): frees the tensor when the JS object is garbage collected.
  Napi::Value AttachFinalizer(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (!info[0].IsObject() || !slotOf(env, info[1])) throwTorch(env, "attachFinalizer", "expects (object, live tensor id)");
    auto id = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
    tensors->pendingFinalizers++;
    napi_status st = napi_add_finalizer(env, info[0], reinterpret_cast<void*>(static_cast<uintptr_t>(id)),
                                        finalizeTensorObject, tensors, nullptr);
    if (st != napi_ok) {
      tensors->pendingFinalizers--;
      throwTorch(env, "attachFinalizer", "napi_add_finalizer failed");
    }
    return env.Undefined();
  }

  Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(slotsOf(info.Env()).live));
  }

  static Napi::Array intArray(Napi::Env env, c10::IntArrayRef r) {
    auto arr = Napi::Array::New(env, r.size());
    for (size_t i = 0; i < r.size(); i++) arr.Set(i, Napi::Number::New(env, static_cast<double>(r[i])));
    return arr;
  }

  Napi::Value Shape(const Napi::CallbackInfo& info) {
    return intArray(info.Env(), tensorOf(info.Env(), info[0], "tensor").sizes());
  }
  Napi::Value Strides(const Napi::CallbackInfo& info) {
    return guard(info.Env(), "strides", [&]() -> Napi::Value {
      return intArray(info.Env(), tensorOf(info.Env(), info[0], "tensor").strides());
    });
  }
  Napi::Value Dtype(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), dtypeName(tensorOf(info.Env(), info[0], "tensor").scalar_type()));
  }
  Napi::Value Device(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), deviceString(tensorOf(info.Env(), info[0], "tensor").device()));
  }
  Napi::Value Numel(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(tensorOf(info.Env(), info[0], "tensor").numel()));
  }
  Napi::Value SameTensor(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return Napi::Boolean::New(env, tensorOf(env, info[0], "a").is_same(tensorOf(env, info[1], "b")));
  }

  // ---- autograd ----------------------------------------------------------------------------------

  Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), tensorOf(info.Env(), info[0], "tensor").requires_grad());
  }
  Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "requiresGrad_", [&]() -> Napi::Value {
      auto t = tensorOf(env, info[0], "tensor");
      t.set_requires_grad(info[1].ToBoolean().Value());
      return env.Undefined();
    });
  }
  Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), tensorOf(info.Env(), info[0], "tensor").is_leaf());
  }
  Napi::Value HasGradFn(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), tensorOf(info.Env(), info[0], "tensor").grad_fn() != nullptr);
  }
  Napi::Value GetGrad(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "grad", [&]() -> Napi::Value {
      const auto& g = tensorOf(env, info[0], "tensor").grad();
      if (!g.defined()) return env.Null();
      return wrapTensor(env, g, false);
    });
  }
  Napi::Value SetGrad(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "grad", [&]() -> Napi::Value {
      auto t = tensorOf(env, info[0], "tensor");
      if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
      else {
        const auto& g = tensorOf(env, info[1], "grad");
        TORCH_CHECK(g.sizes() == t.sizes(), "assigned grad has shape ", g.sizes(), " but the tensor has ", t.sizes());
        TORCH_CHECK(g.scalar_type() == t.scalar_type(), "assigned grad has dtype ", g.scalar_type(),
                    " but the tensor has ", t.scalar_type());
        t.mutable_grad() = g;
      }
      return env.Undefined();
    });
  }

  std::vector<at::Tensor> tensorList(Napi::Env env, Napi::Value v, const char* what, bool allowNull) {
    std::vector<at::Tensor> out;
    if (!v.IsArray()) throwTorch(env, "autograd", std::string(what) + " must be an array of Tensors");
    auto arr = v.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      auto e = arr.Get(i);
      if (allowNull && (e.IsNull() || e.IsUndefined())) out.emplace_back();
      else out.push_back(tensorOf(env, e, what));
    }
    return out;
  }

  // backward(tensors, grads|null, retainGraph|undefined, createGraph)
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "backward", [&]() -> Napi::Value {
      auto ts = tensorList(env, info[0], "tensors", false);
      auto gs = info[1].IsArray() ? tensorList(env, info[1], "gradient", true) : std::vector<at::Tensor>();
      c10::optional<bool> retain;
      if (info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
      bool create = info[3].ToBoolean().Value();
      torch::autograd::backward(ts, gs, retain, create);
      return env.Undefined();
    });
  }

  // grad(outputs, inputs, gradOutputs|null, retainGraph|undefined, createGraph, allowUnused)
  Napi::Value Grad(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "autograd.grad", [&]() -> Napi::Value {
      auto outs = tensorList(env, info[0], "outputs", false);
      auto ins = tensorList(env, info[1], "inputs", false);
      auto gos = info[2].IsArray() ? tensorList(env, info[2], "gradOutputs", true) : std::vector<at::Tensor>();
      c10::optional<bool> retain;
      if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
      bool create = info[4].ToBoolean().Value();
      bool allowUnused = info[5].ToBoolean().Value();
      auto res = torch::autograd::grad(outs, ins, gos, retain, create, allowUnused);
      auto arr = Napi::Array::New(env, res.size());
      for (size_t i = 0; i < res.size(); i++)
        arr.Set(i, res[i].defined() ? wrapTensor(env, res[i]) : env.Null());
      return arr;
    });
  }

  Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
  }
  Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
    bool prev = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(info[0].ToBoolean().Value());
    return Napi::Boolean::New(info.Env(), prev);
  }

  // ---- threads, random numbers, devices ----------------------------------------------------------

  Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "setNumThreads", [&]() -> Napi::Value {
      double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
      if (!(n >= 1 && std::floor(n) == n && n <= 4096)) throwTorch(env, "setNumThreads", "thread count must be a positive integer");
      at::set_num_threads(static_cast<int>(n));
      return env.Undefined();
    });
  }
  Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), at::get_num_threads());
  }

  static uint64_t seedOf(Napi::Env env, Napi::Value v) {
    if (v.IsBigInt()) {
      bool lossless = false;
      uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (lossless) return s;
    }
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (d >= 0 && std::floor(d) == d && d <= 9007199254740992.0) return static_cast<uint64_t>(d);
    }
    throwTorch(env, "manualSeed", "seed must be a non-negative integer (number or bigint)");
  }

  Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    uint64_t seed = seedOf(env, info[0]);
    return guard(env, "manualSeed", [&]() -> Napi::Value {
      auto gen = at::detail::getDefaultCPUGenerator();
      {
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_current_seed(seed);
      }
      if (at::hasCUDA()) {
        for (int i = 0; i < at::detail::getCUDAHooks().getNumGPUs(); i++) {
          auto g = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
          std::lock_guard<std::mutex> lock(g.mutex());
          g.set_current_seed(seed);
        }
      }
      return env.Undefined();
    });
  }
  Napi::Value DefaultGenerator(const Napi::CallbackInfo& info) {
    return wrapGenerator(info.Env(), at::detail::getDefaultCPUGenerator());
  }
  Napi::Value NewGenerator(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    uint64_t seed = info[0].IsUndefined() ? 67280421310721ULL : seedOf(env, info[0]);
    return guard(env, "Generator", [&]() -> Napi::Value {
      std::string dev = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "cpu";
      c10::Device d(dev);
      at::Generator g;
      if (d.is_cpu()) g = at::make_generator<at::CPUGeneratorImpl>(seed);
      else if (d.is_cuda()) {
        TORCH_CHECK(at::hasCUDA(), "CUDA is not available in this libtorch");
        g = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, d.has_index() ? d.index() : 0)).clone();
        g.set_current_seed(seed);
      } else TORCH_CHECK(false, "generators exist for cpu and cuda devices, not ", dev);
      return wrapGenerator(env, g);
    });
  }
  Napi::Value GeneratorDevice(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return Napi::String::New(env, deviceString(generatorOf(env, info[0]).device()));
  }
  Napi::Value GeneratorSeed(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto g = generatorOf(env, info[0]);
    std::lock_guard<std::mutex> lock(g.mutex());
    if (info.Length() > 1 && !info[1].IsUndefined()) g.set_current_seed(seedOf(env, info[1]));
    return Napi::BigInt::New(env, g.current_seed());
  }
  Napi::Value GeneratorGetState(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "Generator.getState", [&]() -> Napi::Value {
      auto g = generatorOf(env, info[0]);
      std::lock_guard<std::mutex> lock(g.mutex());
      return wrapTensor(env, g.get_state());
    });
  }
  Napi::Value GeneratorSetState(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    return guard(env, "Generator.setState", [&]() -> Napi::Value {
      auto g = generatorOf(env, info[0]);
      const auto& s = tensorOf(env, info[1], "state");
      TORCH_CHECK(s.scalar_type() == at::kByte && s.dim() == 1, "generator state must be a 1-D uint8 tensor");
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_state(s);
      return env.Undefined();
    });
  }
  // ---- devices, autocast, engine identity (engine.h) ----
  Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) { return engine::CudaIsAvailable(info); }
  Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) { return engine::CudaDeviceCount(info); }
  Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) { return guard(info.Env(), "cuda.synchronize", [&] { return engine::CudaSynchronize(info); }); }
  Napi::Value CudaMemory(const Napi::CallbackInfo& info) { return guard(info.Env(), "cuda.memoryAllocated", [&] { return engine::CudaMemory(info); }); }
  Napi::Value AutocastGet(const Napi::CallbackInfo& info) { return engine::AutocastGet(info); }
  Napi::Value AutocastSet(const Napi::CallbackInfo& info) { return guard(info.Env(), "autocast", [&] { return engine::AutocastSet(info); }); }
  Napi::Value AutocastNesting(const Napi::CallbackInfo& info) { return engine::AutocastNesting(info); }
  Napi::Value EngineInfo(const Napi::CallbackInfo& info) { return engine::EngineInfo(info); }

  Napi::Value Config(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), at::show_config() + at::get_parallel_info());
  }

  Napi::Value AllocatorPolicy(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), process::gAllocatorPolicy); }
  Napi::Value ReleaseMemory(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), process::releaseMemory()); }
};

Addon* addonOf(Napi::Env env) { return env.GetInstanceData<Addon>(); }
SlotTable& slotsOf(Napi::Env env) { return *addonOf(env)->tensors; }

void throwTorch(Napi::Env env, const std::string& op, const std::string& msg) {
  std::string full = op.empty() ? msg : op + ": " + msg;
  Addon* a = addonOf(env);
  if (a && !a->errorClass.IsEmpty()) {
    auto err = a->errorClass.New({Napi::String::New(env, full)});
    err.Set("op", op.empty() ? env.Undefined() : Napi::Value(Napi::String::New(env, op)));
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, full);
}

}  // namespace

NODE_API_ADDON(Addon)
