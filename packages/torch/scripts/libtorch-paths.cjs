// The engine the native addon builds against, as scripts/bootstrap found it (.cache/engine.json at the
// repository root: LIBTORCH=/path, the PyTorch of python3, or the project's own virtual environment).
//   node scripts/libtorch-paths.cjs include | libs | defines | json
// Used by binding.gyp, scripts/build.mjs and (through build/engine.json, a copy made at build time) the runtime.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const engineFile = path.join(__dirname, '..', '..', '..', '.cache', 'engine.json');

function readEngine() {
  if (!fs.existsSync(engineFile)) return null;
  const e = JSON.parse(fs.readFileSync(engineFile, 'utf8'));
  if (typeof e.libtorch !== 'string' || !fs.existsSync(path.join(e.libtorch, 'include', 'ATen', 'ATen.h'))) return null;
  return e;
}

function flags(e, what) {
  const root = e.libtorch;
  const lib = path.join(root, 'lib');
  if (what === 'include') return [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')];
  // PyTorch's wheels and libtorch archives since 2.x are built with the C++11 ABI; older or custom builds may not be,
  // and mixing them fails at link time (or worse, at run time): build with the engine's own setting.
  if (what === 'defines') return [`_GLIBCXX_USE_CXX11_ABI=${e.cxx11abi ? 1 : 0}`];
  const libs = [`-L${lib}`, `-Wl,-rpath,${lib}`, '-Wl,--no-as-needed'];
  // CUDA builds register their kernels from libtorch_cuda: link it whole so the registrations run.
  for (const name of ['torch_cuda', 'c10_cuda']) {
    if (fs.existsSync(path.join(lib, `lib${name}.so`))) libs.push(`-l${name}`);
  }
  libs.push('-ltorch', '-ltorch_cpu', '-lc10', '-Wl,--as-needed');
  return libs;
}

if (require.main === module) {
  const e = readEngine();
  if (!e) {
    console.error(`@climadiff/torch: no engine recorded (${engineFile}); run scripts/bootstrap at the repository root.`);
    process.exit(1);
  }
  const what = process.argv[2];
  console.log(what === 'json' ? JSON.stringify(e) : flags(e, what).join(' '));
}
module.exports = { readEngine, flags, engineFile };
