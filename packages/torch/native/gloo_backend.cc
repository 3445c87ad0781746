// The one translation unit that sees gloo's headers: it creates c10d's own ProcessGroupGloo, the class compiled
// into the linked libtorch_cpu, and hands it back as a c10d::Backend.
//
// Why this is sound although PyTorch's wheels ship no gloo headers (ProcessGroupGloo.hpp includes them):
// the headers come from Debian's libgloo-dev, an older gloo than the one compiled into libtorch, and are used
// only to *declare* ProcessGroupGloo. Nothing of gloo's is compiled or linked here (no -lgloo): the code
// below calls four functions that libtorch exports (Options' constructor, createDeviceForHostname /
// createDefaultDevice, ProcessGroupGloo's constructor) and the ProcessGroupGloo it gets back is used only
// through c10d::Backend's virtual functions, whose vtable is libtorch's. The only layouts this file depends
// on are those of ProcessGroupGloo and its Options, and gloo types appear in them only behind
// std::shared_ptr / std::unique_ptr / std::vector, whose size does not depend on the pointee (the
// static_asserts below check what can be checked at compile time). The build's symbol check
// (test/distributed.test.ts, "no gloo code in the addon") verifies that no gloo function was emitted here.
// Interoperability with a Python torch.distributed process of the same PyTorch proves the whole path.
//
// When the headers are missing (no libgloo-dev) or the libtorch has no c10d Gloo, this file compiles to a
// version whose glooAvailable() is false with the reason, which torch.distributed's Gloo backend then throws.

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

#if __has_include(<gloo/rendezvous/store.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define CLIMADIFF_HAVE_GLOO 1
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <memory>
#include <type_traits>
#include <vector>

namespace {
// Members that name gloo types: their sizes must not depend on gloo's definitions.
static_assert(sizeof(std::shared_ptr<::gloo::transport::Device>) == 2 * sizeof(void*));
static_assert(sizeof(std::shared_ptr<::gloo::Context>) == 2 * sizeof(void*));
static_assert(sizeof(std::shared_ptr<::gloo::rendezvous::Store>) == 2 * sizeof(void*));
static_assert(std::is_polymorphic_v<c10d::ProcessGroupGloo>);
static_assert(std::is_base_of_v<c10d::Backend, c10d::ProcessGroupGloo>);
}  // namespace
#endif

namespace climadiff_dist {

bool glooAvailable(std::string* why) {
#ifdef CLIMADIFF_HAVE_GLOO
  (void)why;
  return true;
#else
  if (why != nullptr) {
#if !__has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
    *why = "the linked libtorch has no c10d ProcessGroupGloo header";
#else
    *why = "the addon was built without gloo's headers (Debian: apt-get install libgloo-dev, then rebuild)";
#endif
  }
  return false;
#endif
}

// rank/size within the group; `hostname` picks the address gloo binds (empty: libtorch's default devices).
c10::intrusive_ptr<c10d::Backend> makeGlooBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                  std::chrono::milliseconds timeout, const std::string& hostname,
                                                  int threads) {
#ifdef CLIMADIFF_HAVE_GLOO
  // create_default: PyTorch's own choice of devices (one per interface named in GLOO_SOCKET_IFNAME, else the address
  // of this machine's hostname, else loopback), as torch.distributed makes them
  auto opts = c10d::ProcessGroupGloo::Options::create_default(timeout);
  if (!hostname.empty()) opts->devices = {c10d::ProcessGroupGloo::createDeviceForHostname(hostname)};
  if (opts->devices.empty()) opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  if (threads > 0) opts->threads = threads;
  auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
  return c10::static_intrusive_pointer_cast<c10d::Backend>(pg);
#else
  (void)store; (void)rank; (void)size; (void)timeout; (void)hostname; (void)threads;
  std::string why;
  glooAvailable(&why);
  TORCH_CHECK(false, "Gloo is not available: ", why);
#endif
}

}  // namespace climadiff_dist
