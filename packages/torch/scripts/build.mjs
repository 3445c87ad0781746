#!/usr/bin/env node
// Builds @climadiff/torch: the native addon (only when its inputs changed), the generated operator
// wrappers (only when the addon or the generator changed), then the TypeScript (incremental).
//   node scripts/build.mjs               everything
//   node scripts/build.mjs --native-only --if-needed   (npm's install hook: never fails the install
//                                                       when libtorch is missing; bootstrap reports it)
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
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
const flags = execFileSync(process.execPath, [join(root, 'scripts', 'libtorch-paths.cjs'), 'include'], { encoding: 'utf8' }) +
  execFileSync(process.execPath, [join(root, 'scripts', 'libtorch-paths.cjs'), 'libs'], { encoding: 'utf8' });
const nativeStamp = sha([...readdirSync(join(root, 'native')).sort().map((f) => read(`native/${f}`)), read('binding.gyp'), read('scripts/libtorch-paths.cjs'), flags,
  process.version, process.env.LIBTORCH ?? '']);
const nativeStampFile = join(root, 'build', '.native-stamp');
if (existsSync(addon) && existsSync(nativeStampFile) && readFileSync(nativeStampFile, 'utf8') === nativeStamp) {
  log('native addon up to date');
} else {
  const atenHeader = process.env.LIBTORCH ? join(process.env.LIBTORCH, 'include', 'ATen', 'ATen.h') : '/usr/include/ATen/ATen.h';
  if (!existsSync(atenHeader)) {
    const msg = `libtorch headers not found (${atenHeader}). Install Debian's libtorch-dev (apt-get install libtorch-dev) or set LIBTORCH=/path/to/libtorch.`;
    if (args.has('--if-needed')) { log(msg); process.exit(0); }
    log(msg);
    process.exit(1);
  }
  log('building native addon (about a minute)...');
  const gyp = require.resolve('node-gyp/bin/node-gyp.js');
  const nodedir = nodeHeadersDir();
  run(process.execPath, [gyp, 'rebuild', '-j', 'max', ...(nodedir ? [`--nodedir=${nodedir}`] : [])]);
  mkdirSync(dirname(nativeStampFile), { recursive: true });
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
