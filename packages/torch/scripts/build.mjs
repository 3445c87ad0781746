#!/usr/bin/env node
// Builds @climadiff/torch: the native addon (only when its inputs changed), the generated operator
// wrappers (only when the addon or the generator changed), then the TypeScript (incremental).
//   node scripts/build.mjs               everything
//   node scripts/build.mjs --native-only --if-needed   (npm's install hook: never fails the install
//                                                       when libtorch is missing; bootstrap reports it)
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const require = createRequire(import.meta.url);

const sha = (parts) => createHash('sha256').update(parts.join('\0')).digest('hex');
const read = (p) => readFileSync(join(root, p), 'utf8');
const log = (m) => process.stderr.write(`[build] ${m}\n`);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    log(`failed: ${cmd} ${argv.join(' ')}`);
    process.exit(r.status ?? 1);
  }
}

function nodeHeadersDir() {
  // Prefer the headers of the running Node (Debian/nodesource install them under <prefix>/include/node)
  // so that node-gyp never tries to download them (no network here).
  const prefix = join(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined;
}

// ---- native addon ----
const addon = join(root, 'build', 'Release', 'torch_native.node');
const { readEngine, flags, engineFile } = require('./libtorch-paths.cjs');
const engine = readEngine();
if (!engine) {
  const msg = `no engine recorded in ${engineFile} (or its libtorch has no headers): run scripts/bootstrap at the repository root.`;
  log(msg);
  process.exit(args.has('--if-needed') ? 0 : 1);
}
const engineText = JSON.stringify(engine);
const nativeStamp = sha([...readdirSync(join(root, 'native')).sort().map((f) => read(`native/${f}`)), read('binding.gyp'), read('scripts/libtorch-paths.cjs'),
  engineText, ...['include', 'libs', 'defines'].map((w) => flags(engine, w).join(' ')), process.version,
  // native/gloo_backend.cc builds Gloo support only where gloo's headers are (Debian's libgloo-dev): rebuild when
  // they appear or go
  String(existsSync('/usr/include/gloo/rendezvous/store.h'))]);
const nativeStampFile = join(root, 'build', '.native-stamp');
if (existsSync(addon) && existsSync(nativeStampFile) && readFileSync(nativeStampFile, 'utf8') === nativeStamp) {
  log('native addon up to date');
} else {
  log(`building native addon against ${engine.libtorch} (about a minute)...`);
  const gyp = require.resolve('node-gyp/bin/node-gyp.js');
  const nodedir = nodeHeadersDir();
  run(process.execPath, [gyp, 'rebuild', '-j', 'max', ...(nodedir ? [`--nodedir=${nodedir}`] : [])]);
  mkdirSync(dirname(nativeStampFile), { recursive: true });
  // what the addon was built against, for the runtime (backends.engine(): the reference python of the tests)
  writeFileSync(join(root, 'build', 'engine.json'), JSON.stringify(engine, null, 2) + '\n');
  writeFileSync(nativeStampFile, nativeStamp);
}
if (args.has('--native-only')) process.exit(0);

// ---- generated wrappers ----
const genStamp = sha([nativeStamp, read('scripts/generate-ops.mjs'), read('src/tensor.ts')]);
const genStampFile = join(root, 'src', 'generated', '.stamp');
if (existsSync(genStampFile) && readFileSync(genStampFile, 'utf8') === genStamp && existsSync(join(root, 'src', 'generated', 'ops.ts'))) {
  log('generated operator wrappers up to date');
} else {
  run(process.execPath, [join(root, 'scripts', 'generate-ops.mjs')]);
  writeFileSync(genStampFile, genStamp);
}

// ---- TypeScript ----
log('compiling TypeScript...');
run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')]);
log('done');
