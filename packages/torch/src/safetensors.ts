// torch.save / torch.load in the safetensors format, byte-compatible with Hugging Face's `safetensors`
// package (the layout lives in safetensors-format.ts). Saving is atomic: the file is written under a
// temporary name in the same directory, flushed to disk, then renamed over `path`, so an interrupted or
// failed save leaves any previous file intact. Loading validates the whole header before reading data,
// reads each tensor's bytes once and copies them once into a new tensor.
import {
  openSync, closeSync, readSync, writeSync, fsyncSync, fstatSync, renameSync, unlinkSync,
} from 'node:fs';
import { endianness } from 'node:os';
import { dirname, basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { TorchError } from './errors.js';
import { scope } from './scope.js';
import { planFile, parseLength, parseHeader, type Plan, type ParsedHeader } from './safetensors-format.js';

/** Tensors by name: a module's stateDict() as an object or a Map. */
export type TensorDict = Record<string, Tensor> | Map<string, Tensor>;
export interface SaveOptions {
  /** Free-form string metadata stored in the header's __metadata__ (e.g. { format: 'pt' }). */
  metadata?: Record<string, string>;
}

// Node's positional read/write take at most 2 GiB per call.
const CHUNK = 1 << 30;

function checkHost(where: string): void {
  if (endianness() !== 'LE') throw new TorchError(`${where}: safetensors is little-endian; this host is big-endian`);
}

function entriesOf(where: string, tensors: TensorDict): [string, unknown][] {
  if (tensors instanceof Map) return [...tensors.entries()];
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors)) {
    throw new TorchError(`${where}: expected an object or Map of named tensors`);
  }
  return Object.entries(tensors);
}

/** Serializes named tensors to safetensors bytes in memory. */
export function saveBytes(tensors: TensorDict, options: SaveOptions = {}): Uint8Array {
  checkHost('torch.saveBytes');
  const plan = planFile('torch.saveBytes', entriesOf('torch.saveBytes', tensors), options.metadata);
  const out = new Uint8Array(plan.prefix.length + plan.dataBytes);
  out.set(plan.prefix, 0);
  for (const t of plan.tensors) out.set(tensorBytes(t.tensor, t.name, t.nbytes), plan.prefix.length + t.begin);
  return out;
}

/**
 * Saves named tensors to `path` as safetensors (atomically: a failed save leaves an existing file
 * untouched). Names are kept as given, e.g. PyTorch-style dotted parameter names.
 */
export function save(tensors: TensorDict, path: string, options: SaveOptions = {}): void {
  const where = `torch.save('${path}')`;
  checkHost(where);
  // Every tensor is checked before the disk is touched.
  const plan = planFile(where, entriesOf(where, tensors), options.metadata);
  const dir = dirname(resolve(path));
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try { fd = openSync(tmp, 'wx', 0o644); } catch (e) {
    throw new TorchError(`${where}: cannot create a file in ${dir}: ${(e as Error).message}`);
  }
  let written = false;
  try {
    writeFile(fd, plan);
    fsyncSync(fd);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) tryUnlink(tmp);
  }
  try { renameSync(tmp, path); } catch (e) {
    tryUnlink(tmp);
    throw new TorchError(`${where}: cannot replace the file: ${(e as Error).message}`);
  }
  syncDirectory(dir);
}

function writeFile(fd: number, plan: Plan): void {
  writeAll(fd, plan.prefix);
  for (const t of plan.tensors) writeAll(fd, tensorBytes(t.tensor, t.name, t.nbytes));
}

function tensorBytes(t: Tensor, name: string, nbytes: number): Uint8Array {
  const b = t.toBytes();
  if (b.length !== nbytes) throw new TorchError(`tensor '${name}' changed while being saved (${b.length} bytes, expected ${nbytes})`);
  return b;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, Math.min(CHUNK, bytes.length - off));
}

function tryUnlink(p: string): void {
  try { unlinkSync(p); } catch { /* already gone */ }
}

// The rename is durable only once the directory entry is on disk; some systems refuse to fsync a
// directory, which only weakens durability after a crash, so it is best effort.
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try { fd = openSync(dir, 'r'); fsyncSync(fd); } catch { /* best effort */ } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A byte source: the whole file is never needed in memory at once. */
interface Source {
  size: number;
  read(offset: number, length: number): Uint8Array;
}

function readTensors(where: string, src: Source): { header: ParsedHeader; tensors: Record<string, Tensor> } {
  checkHost(where);
  const n = parseLength(where, src.read(0, Math.min(8, src.size)), src.size);
  const header = parseHeader(where, src.read(8, n), src.size - 8 - n);
  // Created in a scope: if a read fails part-way, the tensors made so far are freed.
  const tensors = scope(() => {
    const out: Record<string, Tensor> = {};
    for (const e of header.tensors) {
      const bytes = src.read(8 + n + e.begin, e.end - e.begin);
      // defineProperty: a tensor named "__proto__" must become an entry, not the object's prototype.
      Object.defineProperty(out, e.name, {
        value: new Tensor(native.fromBuffer(bytes, e.shape, e.dtype)), enumerable: true, writable: true, configurable: true,
      });
    }
    return out;
  });
  return { header, tensors };
}

function bytesSource(data: Uint8Array): Source {
  if (!(data instanceof Uint8Array)) throw new TorchError('torch.loadBytes: expected a Uint8Array');
  return { size: data.length, read: (offset, length) => data.subarray(offset, offset + length) };
}

function withFile<T>(where: string, path: string, fn: (src: Source) => T): T {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch (e) {
    throw new TorchError(`${where}: cannot open: ${(e as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    return fn({
      size,
      read(offset, length) {
        const buf = new Uint8Array(length);
        for (let got = 0; got < length;) {
          const r = readSync(fd, buf, got, Math.min(CHUNK, length - got), offset + got);
          if (r === 0) throw new TorchError(`${where}: the file shrank while being read`);
          got += r;
        }
        return buf;
      },
    });
  } finally {
    closeSync(fd);
  }
}

/** Loads every tensor of a safetensors file (PyTorch's safetensors.torch.load_file), keyed by name. */
export function load(path: string): Record<string, Tensor> {
  const where = `torch.load('${path}')`;
  return withFile(where, path, (src) => readTensors(where, src).tensors);
}

/** Loads every tensor from safetensors bytes (safetensors.torch.load). */
export function loadBytes(data: Uint8Array): Record<string, Tensor> {
  return readTensors('torch.loadBytes', bytesSource(data)).tensors;
}

/** The header's __metadata__ (or {}), read without loading any tensor. Accepts a path or bytes. */
export function loadMetadata(source: string | Uint8Array): Record<string, string> {
  const where = typeof source === 'string' ? `torch.loadMetadata('${source}')` : 'torch.loadMetadata';
  const run = (src: Source): Record<string, string> => {
    const n = parseLength(where, src.read(0, Math.min(8, src.size)), src.size);
    return { ...parseHeader(where, src.read(8, n), src.size - 8 - n).metadata };
  };
  return typeof source === 'string' ? withFile(where, source, run) : run(bytesSource(source));
}
