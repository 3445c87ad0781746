// Prints compiler/linker flags for libtorch: LIBTORCH=/path/to/libtorch (a custom build, e.g. CUDA)
// or Debian's libtorch-dev under /usr. Used by binding.gyp.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = process.env.LIBTORCH ? path.resolve(process.env.LIBTORCH) : null;
const what = process.argv[2];

if (root) {
  const lib = path.join(root, 'lib');
  if (what === 'include') {
    console.log([path.join(root, 'include'), path.join(root, 'include/torch/csrc/api/include')].join(' '));
  } else {
    const libs = [`-L${lib}`, `-Wl,-rpath,${lib}`, '-Wl,--no-as-needed'];
    // CUDA builds register their kernels from libtorch_cuda: link it whole so the registrations run.
    for (const name of ['torch_cuda', 'c10_cuda']) {
      if (fs.existsSync(path.join(lib, `lib${name}.so`))) libs.push(`-l${name}`);
    }
    libs.push('-ltorch', '-ltorch_cpu', '-lc10', '-Wl,--as-needed');
    console.log(libs.join(' '));
  }
} else if (what === 'include') {
  console.log('/usr/include /usr/include/torch/csrc/api/include');
} else {
  const libs = ['-Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed'];
  // BLAS: Debian's libtorch calls whatever libblas.so.3 the system's alternatives select, by default
  // the reference BLAS (~6 GFLOP/s for a 512x512 matmul here, against ~125 with OpenBLAS). An old-style
  // DT_RPATH applies to every library loaded beneath the addon, so libtorch's libblas.so.3 and
  // liblapack.so.3 come from the chosen BLAS directory without touching the system's choice.
  // CLIMADIFF_BLAS_DIR=/path overrides it; CLIMADIFF_BLAS_DIR=system keeps the alternatives' choice.
  const dir = blasDir();
  if (dir) libs.push(`-Wl,--disable-new-dtags -Wl,-rpath,${dir}`);
  console.log(libs.join(' '));
}

function blasDir() {
  const override = process.env.CLIMADIFF_BLAS_DIR;
  if (override === 'system') return null;
  if (override) return override;
  const openblas = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
  return fs.existsSync(path.join(openblas, 'libblas.so.3')) ? openblas : null;
}
module.exports = { blasDir };
