// Errors and runtime edges with exact expectations: TorchError carries the operator name and libtorch's message,
// the thread-count API, the addon inside worker_threads, extra positional arguments and unknown option keys.
// (Randomly generated invalid calls: errors-random.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';

const any = (x: unknown): any => x; // a loosely typed view, to make calls TypeScript would (rightly) reject

test('TorchError from libtorch carries the operator name and libtorch message', () => {
  const a = torch.ones([2, 3]);
  assert.throws(() => torch.mm(a, a), (e: unknown) => {
    assert.ok(e instanceof torch.TorchError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'TorchError');
    assert.equal(e.op, 'aten::mm');
    assert.match(e.message, /mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/);
    return true;
  });
  assert.throws(() => torch.conv3d(torch.ones([1, 4, 2, 5, 5]), torch.ones([2, 3, 1, 3, 3])), (e: unknown) => {
    assert.ok(e instanceof torch.TorchError);
    assert.match(e.op!, /^aten::conv3d/); // the packet picks conv3d.padding when padding is omitted
    assert.match(e.message, /expected input\[1, 4, 2, 5, 5\] to have 3 channels, but got 4 channels/);
    return true;
  });
  // Errors raised in TypeScript before reaching libtorch name the operator too.
  assert.throws(() => torch.mm(torch.ones([2, 2]), 'x' as unknown as Tensor), (e: unknown) => {
    assert.ok(e instanceof torch.TorchError);
    assert.equal(e.op, 'aten::mm');
    assert.match(e.message, /no overload matches/);
    return true;
  });
  // A disposed tensor is reported as such, not as a crash or a stale read.
  const d = torch.ones([2, 2]);
  d.dispose();
  assert.equal(d.isDisposed, true);
  assert.throws(() => torch.mm(a.t(), d), (e: unknown) => e instanceof torch.TorchError && /disposed/.test(e.message) && e.op === 'aten::mm');
  d.dispose(); // idempotent
});

test('setNumThreads / getNumThreads', () => {
  const before = torch.getNumThreads();
  assert.ok(Number.isInteger(before) && before >= 1, `getNumThreads() = ${before}`);
  try {
    torch.setNumThreads(1);
    assert.equal(torch.getNumThreads(), 1);
    const big = torch.ones([64, 64]).matmul(torch.ones([64, 64]));
    assert.equal(big.sum().item(), 64 * 64 * 64);
    torch.setNumThreads(2);
    assert.equal(torch.getNumThreads(), 2);
    assert.throws(() => torch.setNumThreads(0), torch.TorchError);
    assert.equal(torch.getNumThreads(), 2);
  } finally {
    torch.setNumThreads(before);
  }
  assert.equal(torch.getNumThreads(), before);
  assert.match(torch.config(), /ATen\/Parallel/);
});

// The worker imports the library itself: the addon is context-aware, with per-thread tensor tables.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.url).then((torch) => {
  const liveAtStart = torch.liveTensors();
  // libtorch's default generator is process-wide (as in PyTorch), so concurrent workers seed their own
  const r = torch.randn([3], { generator: new torch.Generator({ seed: workerData.seed }) }).toArray();
  const c = torch.tensor([[1, 2], [3, 4]]).matmul(torch.tensor([[5, 6], [7, 8]])).toArray();
  let err = null;
  try { torch.mm(torch.ones([2, 3]), torch.ones([2, 3])); } catch (e) { err = { torchError: e instanceof torch.TorchError, op: e.op, message: e.message }; }
  const x = torch.tensor([2], { requiresGrad: true });
  x.pow(3).sum().backward();
  if (workerData.hold) { globalThis.held = torch.randn([256, 256]); }
  parentPort.postMessage({ liveAtStart, r, c, err, grad: x.grad.item(), live: torch.liveTensors() });
}).catch((e) => parentPort.postMessage({ failed: String(e && e.stack || e) }));
`;

interface WorkerReply {
  failed?: string; liveAtStart: number; r: number[]; c: number[][]; grad: number; live: number;
  err: { torchError: boolean; op: string; message: string } | null;
}

async function runWorker(seed: number, hold = false): Promise<{ reply: WorkerReply; worker: Worker; exited: Promise<unknown> }> {
  const url = new URL('../src/index.js', import.meta.url).href;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { url, seed, hold } });
  const exited = once(worker, 'exit'); // subscribe now: a worker with nothing left to do exits at once
  const [reply] = (await once(worker, 'message')) as [WorkerReply];
  return { reply, worker, exited };
}

test('the library runs inside worker_threads', async () => {
  const mainLive = torch.liveTensors();
  // Two workers at once, plus the main thread.
  const [w1, w2] = await Promise.all([runWorker(5), runWorker(6, true)]);
  for (const { reply } of [w1, w2]) {
    assert.equal(reply.failed, undefined, reply.failed);
    assert.equal(reply.liveAtStart, 0, 'a worker starts with its own, empty tensor table');
    assert.deepEqual(reply.c, [[19, 22], [43, 50]]);
    assert.equal(reply.grad, 12); // d/dx x^3 at 2
    assert.ok(reply.err?.torchError, 'TorchError class is per-thread and still recognised');
    assert.equal(reply.err?.op, 'aten::mm');
    assert.match(reply.err!.message, /cannot be multiplied/);
  }
  // An explicit generator gives the same numbers in a worker as on the main thread, whatever other threads do.
  assert.deepEqual(torch.randn([3], { generator: new torch.Generator({ seed: 5 }) }).toArray(), w1.reply.r);
  assert.notDeepEqual(w1.reply.r, w2.reply.r);
  await w1.exited;
  // The workers' tensors (w2 still holds some) are not counted on this thread. (The count here can
  // only have gone down meanwhile, when the GC safety net freed earlier tests' tensors.)
  assert.ok(torch.liveTensors() <= mainLive + 1, `main thread sees ${torch.liveTensors()} tensors, had ${mainLive}`);
  // Terminating a worker that still holds tensors must free them without disturbing this thread.
  await w2.worker.terminate();
  const c = torch.ones([3, 3]).matmul(torch.ones([3, 3]));
  assert.deepEqual(c.toArray(), [[3, 3, 3], [3, 3, 3], [3, 3, 3]]);
  // And a fresh worker can load the addon again after the others have gone.
  const w3 = await runWorker(7);
  assert.deepEqual(w3.reply.c, [[19, 22], [43, 50]]);
  await w3.exited;
});

// ---- arity and option names ----

test('extra positional arguments are rejected by Tensor methods and typed overloads', () => {
  const a = torch.ones([2, 2]);
  assert.throws(() => any(a).exp(3), torch.TorchError);
  assert.throws(() => any(a).matmul(a, a), torch.TorchError);
  assert.throws(() => any(torch.aten.mm.default)(a, a, a), torch.TorchError);
});

test('hand-written factories reject unknown option keys', () => {
  assert.throws(() => torch.randn([2], any({ dtyp: 'float64' })), torch.TorchError);
  assert.throws(() => torch.zeros([2], any({ requiresgrad: true })), torch.TorchError);
});
