// The contract snippet of the torch issue, verbatim, run as a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SNIPPET = `import * as torch from '@climadiff/torch';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const file = join(tmpdir(), 'conv.safetensors');
torch.manualSeed(0);
const x = torch.randn([2, 4, 8, 16, 16], { requiresGrad: true });
const conv = new torch.nn.Conv3d(4, 8, [1, 3, 3], { padding: [0, 1, 1] });
const y = torch.nn.functional.silu(conv.forward(x));
const loss = y.square().mean();
const [gx] = torch.autograd.grad([loss], [x], { retainGraph: true });
loss.backward();
if (gx.sub(x.grad!).abs().max().item() > 1e-6) throw new Error('grad mismatch');
const opt = new torch.optim.AdamW(conv.parameters(), { lr: 1e-3, weightDecay: 0.01 });
opt.step(); opt.zeroGrad();
torch.save(conv.stateDict(), file);
conv.loadStateDict(torch.load(file));
const z = torch.noGrad(() => conv.forward(x));
console.log(z.shape, torch.ops.aten.conv3d !== undefined);
`;

test('contract snippet type-checks and runs verbatim', () => {
  const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // Compile the snippet as its own TypeScript module inside the package so '@climadiff/torch' resolves.
  const dir = mkdtempSync(join(pkgRoot, '.contract-'));
  try {
    writeFileSync(join(dir, 'snippet.ts'), SNIPPET);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'], rootDir: '.', outDir: '.' },
      files: ['snippet.ts'],
    }));
    const tsc = join(pkgRoot, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { stdio: 'pipe' });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const out = execFileSync(process.execPath, [join(dir, 'snippet.js')], { encoding: 'utf8' });
    assert.equal(out.trim(), '[ 2, 8, 8, 16, 16 ] true');
  } finally {
    execFileSync('rm', ['-rf', dir]);
  }
});
void tmpdir;
