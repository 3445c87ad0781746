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
  console.log('-Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed');
}
