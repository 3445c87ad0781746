// Tensor and generator handles (a per-environment slot table of at::Tensor, type-tagged generator externals),
// external-memory accounting and the names of dtypes, layouts and memory formats shared with TypeScript.
// Included once, by addon.cc, whose anonymous namespace (the same one) defines what is forward-declared here:
// Addon, slotsOf, throwTorch.
#pragma once

namespace {

// ---------------------------------------------------------------------------------------------
// Handles

const napi_type_tag kGeneratorTag = {0x6c696d6164696666ULL, 0x67656e6572613031ULL};

// Tensors live in a per-environment slot table; JavaScript holds a number id = generation * 2^24 + slot.
// Numbers cost nothing to create (a napi external with a finaliser costs ~1-2 us per tensor); the
// generation makes a stale id (use after dispose, even after the slot is reused) detectable.
constexpr uint64_t kSlotBits = 24;
constexpr uint64_t kSlotMask = (1ULL << kSlotBits) - 1;

struct Slot {
  at::Tensor t;
  uint64_t gen = 1;
  int64_t accounted = 0;  // bytes reported to V8 as external memory
  bool live = false;
};

struct SlotTable {
  std::vector<Slot> slots;
  std::vector<uint32_t> freeList;
  size_t live = 0;
  // GC safety net bookkeeping: the table outlives the addon while finalisers are outstanding
  // (an environment being torn down may run them after the addon instance is gone).
  size_t pendingFinalizers = 0;
  bool addonGone = false;
  // External-memory changes not yet reported to V8: reporting is batched (one V8 call per MiB of
  // change instead of one per tensor), which keeps small operators cheap; the total stays exact.
  int64_t unreported = 0;
};

constexpr int64_t kReportBytes = 1 << 20;

void accountExternal(SlotTable& tab, node_api_basic_env env, int64_t delta) {
  tab.unreported += delta;
  if (tab.unreported >= kReportBytes || tab.unreported <= -kReportBytes) {
    int64_t total = 0;  // napi rejects a null result pointer (and then reports nothing)
    napi_adjust_external_memory(env, tab.unreported, &total);
    tab.unreported = 0;
  }
}

struct GeneratorHolder {
  at::Generator g;
};

struct Addon;
Addon* addonOf(Napi::Env env);
SlotTable& slotsOf(Napi::Env env);

[[noreturn]] void throwTorch(Napi::Env env, const std::string& op, const std::string& msg);

std::string firstLine(const std::string& s) {
  // libtorch messages end with an "Exception raised from ..." backtrace line: keep the useful part.
  auto pos = s.find("\nException raised from");
  return pos == std::string::npos ? s : s.substr(0, pos);
}

int64_t tensorBytes(const at::Tensor& t) {
  if (!t.defined()) return 0;
  return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}

Napi::Value wrapTensor(Napi::Env env, at::Tensor t, bool account = true) {
  auto& tab = slotsOf(env);
  uint32_t idx;
  if (!tab.freeList.empty()) {
    idx = tab.freeList.back();
    tab.freeList.pop_back();
  } else {
    if (tab.slots.size() > kSlotMask) throwTorch(env, "", "too many live tensors (16M): dispose tensors or use torch.scope");
    idx = static_cast<uint32_t>(tab.slots.size());
    tab.slots.emplace_back();
  }
  Slot& s = tab.slots[idx];
  s.t = std::move(t);
  s.live = true;
  s.accounted = account ? tensorBytes(s.t) : 0;
  if (s.accounted) accountExternal(tab, env, s.accounted);
  tab.live++;
  return Napi::Number::New(env, static_cast<double>((s.gen << kSlotBits) | idx));
}

// Returns the slot for an id, or nullptr when the value is not a live tensor id.
Slot* slotOf(Napi::Env env, Napi::Value v, bool* stale = nullptr) {
  if (stale) *stale = false;
  if (!v.IsNumber()) return nullptr;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < 9007199254740992.0)) return nullptr;
  auto id = static_cast<uint64_t>(d);
  if (static_cast<double>(id) != d) return nullptr;
  auto& tab = slotsOf(env);
  uint64_t idx = id & kSlotMask;
  if (idx >= tab.slots.size()) return nullptr;
  Slot& s = tab.slots[idx];
  if (!s.live || s.gen != (id >> kSlotBits)) {
    if (stale && (id >> kSlotBits) != 0 && (id >> kSlotBits) <= s.gen) *stale = true;
    return nullptr;
  }
  return &s;
}

// inGC: called from a finaliser during garbage collection, where V8 must not be re-entered (reporting
// external memory there can start a nested collection, a fatal V8 error): the change is only recorded,
// and the next report from ordinary code carries it.
void releaseSlotIn(SlotTable& tab, Slot& s, node_api_basic_env env, bool inGC = false) {
  if (s.accounted) {
    if (inGC) tab.unreported -= s.accounted;
    else accountExternal(tab, env, -s.accounted);
  }
  s.accounted = 0;
  s.t = at::Tensor();
  s.live = false;
  s.gen++;
  tab.freeList.push_back(static_cast<uint32_t>(&s - tab.slots.data()));
  tab.live--;
}

// Runs synchronously inside V8's garbage collection (a "basic" finaliser: it touches no JavaScript),
// so a synchronous training loop that never yields to the event loop still gets its memory back.
void finalizeTensorObject(node_api_basic_env env, void* data, void* hint) {
  auto* tab = static_cast<SlotTable*>(hint);
  auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data));
  uint64_t idx = id & kSlotMask;
  if (!tab->addonGone && idx < tab->slots.size()) {
    Slot& s = tab->slots[idx];
    if (s.live && s.gen == (id >> kSlotBits)) releaseSlotIn(*tab, s, env, /*inGC=*/true);
  }
  if (--tab->pendingFinalizers == 0 && tab->addonGone) delete tab;
}

void releaseSlot(Napi::Env env, Slot& s) { releaseSlotIn(slotsOf(env), s, env); }

const at::Tensor& tensorOf(Napi::Env env, Napi::Value v, const std::string& what = "argument") {
  bool stale = false;
  Slot* s = slotOf(env, v, &stale);
  if (!s) throwTorch(env, "", what + (stale ? " is a disposed Tensor" : " must be a Tensor"));
  return s->t;
}

bool isTagged(Napi::Env env, Napi::Value v, const napi_type_tag& tag) {
  if (!v.IsExternal()) return false;
  bool ok = false;
  if (napi_check_object_type_tag(env, v, &tag, &ok) != napi_ok) return false;
  return ok;
}

at::Generator generatorOf(Napi::Env env, Napi::Value v) {
  if (!isTagged(env, v, kGeneratorTag)) throwTorch(env, "", "argument must be a torch.Generator");
  return v.As<Napi::External<GeneratorHolder>>().Data()->g;
}

Napi::Value wrapGenerator(Napi::Env env, at::Generator g) {
  auto* h = new GeneratorHolder{std::move(g)};
  auto ext = Napi::External<GeneratorHolder>::New(env, h, [](Napi::Env, GeneratorHolder* p) { delete p; });
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &kGeneratorTag), Napi::Value());
  return ext;
}

// ---------------------------------------------------------------------------------------------
// Enumerations shared with TypeScript (names follow PyTorch's Python spelling)

const std::vector<std::pair<std::string, at::ScalarType>>& dtypeNames() {
  static const std::vector<std::pair<std::string, at::ScalarType>> names = {
      {"uint8", at::kByte},     {"int8", at::kChar},         {"int16", at::kShort},
      {"int32", at::kInt},      {"int64", at::kLong},        {"float16", at::kHalf},
      {"float32", at::kFloat},  {"float64", at::kDouble},    {"complex64", at::kComplexFloat},
      {"complex128", at::kComplexDouble}, {"bool", at::kBool}, {"bfloat16", at::kBFloat16},
  };
  return names;
}

std::string dtypeName(at::ScalarType s) {
  for (auto& p : dtypeNames())
    if (p.second == s) return p.first;
  return c10::toString(s);
}

at::ScalarType parseDtype(Napi::Env env, Napi::Value v, const std::string& op) {
  if (v.IsString()) {
    auto s = v.As<Napi::String>().Utf8Value();
    for (auto& p : dtypeNames())
      if (p.first == s) return p.second;
  }
  std::string valid;
  for (auto& p : dtypeNames()) valid += (valid.empty() ? "" : ", ") + p.first;
  throwTorch(env, op, "unknown dtype (valid: " + valid + ")");
}

at::Layout parseLayout(Napi::Env env, Napi::Value v, const std::string& op) {
  if (v.IsString()) {
    auto s = v.As<Napi::String>().Utf8Value();
    if (s == "strided") return at::kStrided;
    if (s == "sparse_coo") return at::kSparse;
  }
  throwTorch(env, op, "layout must be 'strided' or 'sparse_coo'");
}

at::MemoryFormat parseMemoryFormat(Napi::Env env, Napi::Value v, const std::string& op) {
  if (v.IsString()) {
    auto s = v.As<Napi::String>().Utf8Value();
    if (s == "contiguous") return at::MemoryFormat::Contiguous;
    if (s == "preserve") return at::MemoryFormat::Preserve;
    if (s == "channels_last") return at::MemoryFormat::ChannelsLast;
    if (s == "channels_last_3d") return at::MemoryFormat::ChannelsLast3d;
  }
  throwTorch(env, op, "memory format must be 'contiguous', 'preserve', 'channels_last' or 'channels_last_3d'");
}

std::string deviceString(const at::Device& d) { return d.str(); }


}  // namespace
