// Process-wide settings of the native layer, applied once (the first time the addon loads in a process, before
// any tensor exists): libtorch's intra-op threads and the memory allocator policy.
// Included once, by addon.cc.
#pragma once

#include <ATen/Parallel.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace process {

inline std::string gAllocatorPolicy = "system";

// Intra-op threads: all cores of the machine (libtorch would pick physical cores only), unless OMP_NUM_THREADS.
inline void configureThreads() {
  if (std::getenv("OMP_NUM_THREADS") != nullptr) return;
  unsigned n = std::thread::hardware_concurrency();
  if (n > 0) at::set_num_threads(static_cast<int>(n));
}

// glibc serves blocks above its mmap threshold (at most 32 MB) with fresh mmap()s and returns freed heap tops
// above 128 KB to the system, so every large activation of a training step is page-faulted in again (measured:
// ~200,000 minor faults and half the CPU time in the kernel per batch-8 U-Net evaluation). 'retain' serves every
// block from the heap and keeps up to 1 GiB of freed memory for reuse (releaseMemory() hands it back);
// CLIMADIFF_MALLOC=system, or any MALLOC_* / GLIBC_TUNABLES setting of the user's, keeps glibc's own behaviour.
inline void configureAllocator() {
#ifdef __GLIBC__
  const char* env = std::getenv("CLIMADIFF_MALLOC");
  if (env != nullptr && std::string(env) == "system") return;
  for (const char* v : {"MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"}) {
    if (std::getenv(v) != nullptr) return;
  }
  if (mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1) gAllocatorPolicy = "retain";
#endif
}

inline void configureOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    configureAllocator();
    configureThreads();
  });
}

// Hands free heap memory back to the operating system (malloc_trim); true when some was released.
inline bool releaseMemory() {
#ifdef __GLIBC__
  return malloc_trim(0) == 1;
#else
  return false;
#endif
}

}  // namespace process
