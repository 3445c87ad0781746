// torch.save / torch.load (safetensors): round trips of every dtype, byte compatibility with an
// independent Python implementation of the format, untrusted-file validation and atomic saves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { runPython } from './helpers/python-ref.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const isTorchError = (re: RegExp) => (e: unknown) => e instanceof torch.TorchError && re.test(e.message);

/** One tensor of every dtype the format and libtorch share, plus the awkward shapes. */
function sampleTensors(): Record<string, Tensor> {
  return {
    'w.f32': torch.tensor(Float32Array.from([0.1, -2.5, 3e-38, 1e38, -0, 7]), [2, 3]),
    'w.f64': torch.tensor(Float64Array.from([Math.PI, -1e-300, 1e300, 2 ** -1074]), [4]),
    'h.f16': torch.tensor(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x3555]), [3, 2]), // raw half bits
    'h.bf16': torch.tensor(Float32Array.from([1, -3.140625, 1e30, 2 ** -130, 0.5])).to('bfloat16'),
    'i.i64': torch.tensor(BigInt64Array.from([-(2n ** 62n) - 3n, 2n ** 53n + 1n, 0n, -1n])),
    'i.i32': torch.tensor(Int32Array.from([-(2 ** 31), 7, 2 ** 31 - 1, -5]), [2, 2]),
    'i.i16': torch.tensor(Int16Array.from([-32768, 12345, 32767])),
    'i.i8': torch.tensor(Int8Array.from([-128, -1, 127])),
    'u.u8': torch.tensor(Uint8Array.from([0, 200, 255])),
    'm.bool': torch.tensor([[true, false, true]]),
    scalar: torch.scalarTensor(3.5),
    empty: torch.zeros([0, 3]),
    't.transposed': torch.arange(0, 6, 1, { dtype: 'float32' }).reshape(2, 3).mT, // non-contiguous
    'bloc.ü.poids': torch.arange(0, 6, 1, { dtype: 'float32' }).reshape(3, 2),
  };
}

function assertSameTensors(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name]!;
    assert.equal(a.dtype, e.dtype, name);
    assert.deepEqual(a.shape, e.shape, name);
    assert.equal(hex(a.toBytes()), hex(e.toBytes()), name);
  }
}

test('round trip of every dtype, in memory and through a file', () => torch.scope(() => {
  const tensors = sampleTensors();
  const bytes = torch.saveBytes(tensors);
  assertSameTensors(torch.loadBytes(bytes), tensors);
  const file = join(dir, 'roundtrip.safetensors');
  torch.save(new Map(Object.entries(tensors)), file, { metadata: { format: 'pt', epoch: '3' } });
  assertSameTensors(torch.load(file), tensors);
  assert.deepEqual(torch.loadMetadata(file), { epoch: '3', format: 'pt' });
  assert.deepEqual(torch.loadMetadata(bytes), {});
  // Same input, same bytes: the layout is deterministic.
  assert.equal(hex(readFileSync(file)), hex(torch.saveBytes(tensors, { metadata: { format: 'pt', epoch: '3' } })));
  // Values, not just bytes, survive (half-precision bits decode to the intended numbers).
  const back = torch.loadBytes(bytes);
  assert.deepEqual(back['h.f16']!.toArray(), [[1, -2], [65504, 2 ** -24], [-0, 0.333251953125]]);
  assert.deepEqual(back['t.transposed']!.toArray(), [[0, 3], [1, 4], [2, 5]]);
  assert.equal(back.scalar!.item(), 3.5);
}));

test('layout follows the reference writer: dtype alignment then name, space padding to 8', () => torch.scope(() => {
  const bytes = torch.saveBytes({
    b: torch.zeros([1]), a: torch.zeros([2]), c: torch.zeros([1], { dtype: 'int64' }),
    d: torch.zeros([3], { dtype: 'bool' }), e: torch.zeros([1], { dtype: 'bfloat16' }),
  }, { metadata: { format: 'pt' } });
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const text = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  assert.match(text, /^\{"__metadata__":\{"format":"pt"\},"c":\{"dtype":"I64","shape":\[1\],"data_offsets":\[0,8\]\},"a":/);
  assert.match(text, / *$/);
  const header = JSON.parse(text) as Record<string, { data_offsets: number[] }>;
  assert.deepEqual(['c', 'a', 'b', 'e', 'd'].map((k) => header[k]!.data_offsets), [[0, 8], [8, 16], [16, 20], [20, 22], [22, 25]]);
  assert.equal(bytes.length, 8 + n + 25);
}));

test('files written by Python load here and files written here load in Python, byte for byte', (t) => {
  const jsFile = join(dir, 'from-js.safetensors');
  const pyFile = join(dir, 'from-python.safetensors');
  const mine = sampleTensors();
  torch.save(mine, jsFile, { metadata: { format: 'pt', source: 'typescript' } });
  const r = runPython<{
    written: Record<string, { dtype: string; shape: number[]; hex: string }>;
    read: Record<string, { dtype: string; shape: number[]; hex: string; values: unknown[] }>;
    metadata: Record<string, string>;
    rewrite_identical: boolean;
  }>('safetensors_ref.py', { js_file: jsFile, py_file: pyFile });
  if (r.skip !== undefined) { t.skip(r.skip); return; }
  const out = r.out;
  const ST: Record<string, string> = {
    float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
  };
  // Python read ours: same dtypes, shapes, bytes and values, and its writer reproduces our file exactly.
  assert.deepEqual(Object.keys(out.read).sort(), Object.keys(mine).sort());
  for (const [name, tensor] of Object.entries(mine)) {
    const theirs = out.read[name]!;
    assert.equal(theirs.dtype, ST[tensor.dtype], name);
    assert.deepEqual(theirs.shape, tensor.shape, name);
    assert.equal(theirs.hex, hex(tensor.toBytes()), name);
    const flat = [tensor.toArray()].flat(Infinity as 1).map((v) => (typeof v === 'bigint' ? v.toString() : v));
    assert.deepEqual(theirs.values, flat, name);
  }
  assert.deepEqual(out.metadata, { format: 'pt', source: 'typescript' });
  assert.equal(out.rewrite_identical, true, 'the Python writer lays the same tensors out differently');
  // We read Python's: same tensors, and our writer reproduces its file exactly.
  torch.scope(() => {
    const loaded = torch.load(pyFile);
    assert.deepEqual(Object.keys(loaded).sort(), Object.keys(out.written).sort());
    for (const [name, w] of Object.entries(out.written)) {
      assert.equal(ST[loaded[name]!.dtype], w.dtype, name);
      assert.deepEqual(loaded[name]!.shape, w.shape, name);
      assert.equal(hex(loaded[name]!.toBytes()), w.hex, name);
    }
    const metadata = torch.loadMetadata(pyFile);
    assert.deepEqual(metadata, { format: 'pt', source: 'python' });
    assert.equal(hex(torch.saveBytes(loaded, { metadata })), hex(readFileSync(pyFile)));
  });
});

// ---- untrusted input ----

/** A file from a header (object, JSON text or raw bytes) and a data section; N may be forced to lie. */
function craft(header: unknown, data: number | Uint8Array = 0, n?: bigint): Uint8Array {
  const text = header instanceof Uint8Array ? Buffer.from(header) : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = Buffer.alloc(8 + text.length + body.length);
  out.writeBigUInt64LE(n ?? BigInt(text.length), 0);
  text.copy(out, 8);
  out.set(body, 8 + text.length);
  return out;
}
const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

test('corrupt or malicious files are refused with clear errors', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than the length prefix', new Uint8Array(5), /5 bytes is too short/],
    ['header length past the end', craft({}, 0, 1000n), /header length 1000 runs past the end of the 10-byte file/],
    ['absurd header length', craft({}, 0, 2n ** 63n), /over the format's 100000000-byte limit/],
    ['not JSON', craft('{"a": {"dtype": '), /not valid JSON/],
    ['not UTF-8', craft(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), /not valid UTF-8/], // {"\xff":1}
    ['not an object', craft('[1, 2]'), /must be a JSON object/],
    ['offsets that lie about the size', craft({ a: f32([3], 0, 8) }, 8), /shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/],
    ['overlapping tensors', craft({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12), /'b' \(bytes 4-12\) overlaps/],
    ['a gap between tensors', craft({ a: f32([2], 0, 8), b: f32([2], 12, 20) }, 20), /'b' starts at byte 12 of the data, leaving a gap after byte 8/],
    ['a gap at the start', craft({ a: f32([2], 4, 12) }, 12), /leaving a gap after byte 0/],
    ['offsets past the end', craft({ a: f32([4], 0, 16) }, 8), /describes 16 bytes of tensor data but the file holds 8 \(truncated\)/],
    ['undescribed trailing bytes', craft({ a: f32([2], 0, 8) }, 12), /4 bytes after the last tensor/],
    ['end before begin', craft({ a: f32([0], 8, 0) }, 8), /end before they begin/],
    ['unknown dtype', craft({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), /unknown dtype "F128"/],
    ['dtype libtorch lacks', craft({ a: { dtype: 'U16', shape: [1], data_offsets: [0, 2] } }, 2), /U16 has no @climadiff\/torch equivalent/],
    ['duplicate names', craft('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /names "a" more than once/],
    ['duplicate fields', craft('{"a":{"dtype":"F32","dtype":"I8","shape":[1],"data_offsets":[0,4]}}', 4), /names "dtype" more than once/],
    ['non-string metadata', craft({ __metadata__: { epoch: 3 } }), /value for 'epoch' must be a string, got number/],
    ['metadata not an object', craft({ __metadata__: 'x' }), /'__metadata__' must be an object of strings/],
    ['negative shape', craft({ a: f32([-1], 0, 4) }, 4), /shape must be an array of non-negative integers/],
    ['fractional offset', craft({ a: f32([1], 0, 4.5) }, 4), /data_offsets must be \[begin, end\]/],
    ['shape overflow', craft({ a: f32([2 ** 52, 2 ** 52, 16], 0, 0) }), /needs 1298074214633706907132624082305024 bytes/],
    ['entry not an object', craft({ a: 3 }), /expected \{dtype, shape, data_offsets\}/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(() => torch.loadBytes(bytes), isTorchError(re), what);
  }
});

test('a truncated file on disk is refused, and nothing leaks', () => {
  const file = join(dir, 'truncated.safetensors');
  const live = torch.liveTensors();
  const full = torch.scope(() => torch.saveBytes(sampleTensors()));
  writeFileSync(file, full.subarray(0, full.length - 3));
  assert.throws(() => torch.load(file), isTorchError(/truncated/));
  writeFileSync(file, full.subarray(0, 20));
  assert.throws(() => torch.load(file), isTorchError(/runs past the end/));
  assert.throws(() => torch.load(join(dir, 'missing.safetensors')), isTorchError(/cannot open/));
  assert.equal(torch.liveTensors(), live);
});

test('a tensor named __proto__ is an entry, not a prototype', () => torch.scope(() => {
  const loaded = torch.loadBytes(craft({ ['__proto__']: f32([1], 0, 4) }, 4));
  assert.equal(Object.getPrototypeOf(loaded), Object.prototype);
  assert.deepEqual(Object.keys(loaded), ['__proto__']);
}));

test('save refuses what it cannot write, before touching the disk', () => torch.scope(() => {
  assert.throws(() => torch.saveBytes({ __metadata__: torch.zeros([1]) }), isTorchError(/reserved/));
  assert.throws(() => torch.saveBytes({ z: torch.zeros([1], { dtype: 'complex64' }) }), isTorchError(/dtype complex64, which safetensors cannot store/));
  assert.throws(() => torch.saveBytes({ x: [1, 2] as never }), isTorchError(/'x' is not a Tensor/));
  assert.throws(() => torch.saveBytes({ x: torch.zeros([1]) }, { metadata: { a: 1 as never } }), isTorchError(/metadata value for 'a' must be a string/));
  assert.throws(() => torch.saveBytes({ '\ud800': torch.zeros([1]) }), isTorchError(/not a valid Unicode string/));
}));

test('save is atomic: a failed save leaves the previous file untouched and no temporary file', () => torch.scope(() => {
  const file = join(dir, 'atomic.safetensors');
  torch.save({ a: torch.ones([4]) }, file);
  const before = readFileSync(file);
  const filesBefore = readdirSync(dir).sort();

  const disposed = torch.ones([2]);
  disposed.dispose();
  assert.throws(() => torch.save({ a: torch.zeros([4]), b: disposed }, file), isTorchError(/tensor 'b' is disposed/));
  assert.deepEqual(readFileSync(file), before);

  // A failure part-way through writing the data (after the temporary file exists).
  const failing = torch.zeros([1000]);
  failing.toBytes = () => { throw new Error('disk full (simulated)'); };
  assert.throws(() => torch.save({ a: torch.zeros([4]), b: failing }, file), /disk full/);
  assert.deepEqual(readFileSync(file), before);
  assert.deepEqual(readdirSync(dir).sort(), filesBefore);

  assert.throws(() => torch.save({ a: torch.zeros([1]) }, join(dir, 'no-such-dir', 'x.safetensors')), isTorchError(/cannot create a file/));

  // A successful save replaces the file.
  torch.save({ a: torch.full([4], 2) }, file);
  assert.deepEqual(torch.load(file).a!.toArray(), [2, 2, 2, 2]);
}));
