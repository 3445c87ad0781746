// The safetensors container format (https://github.com/huggingface/safetensors), encode and validate:
//   8 bytes  N, u64 little-endian: header length
//   N bytes  UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}},
//            padded with spaces to a multiple of 8 so tensor data stays aligned
//   rest     tensor data, C-contiguous little-endian, offsets relative to the end of the header.
// The writer mirrors the reference implementation's layout (safetensors/src/tensor.rs, `prepare`): tensors
// sorted by descending dtype alignment, then by name (byte order), packed without gaps; compact JSON
// with __metadata__ first. The reader treats the file as untrusted (the checks of `Metadata::validate`
// and a few more): every offset is checked before any byte is read, so a bad file never reads out of bounds.
import { TorchError } from './errors.js';
import { ITEM_SIZE, type DType } from './dtype.js';
import { Tensor } from './tensor.js';

/** safetensors dtype names that @climadiff/torch holds, and their torch dtypes. */
const TO_TORCH: Record<string, DType> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const FROM_TORCH: Partial<Record<DType, string>> = Object.fromEntries(Object.entries(TO_TORCH).map(([k, v]) => [v, k]));
/** Valid in the format but without a @climadiff/torch dtype. */
const UNSUPPORTED = new Set(['U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'C64', 'C128']);
/** The reference implementation's Dtype enum order (increasing alignment); files list tensors by descending rank. */
const RANK: Record<string, number> = {
  BOOL: 0, U8: 1, I8: 2, I16: 5, F16: 7, BF16: 8, I32: 9, F32: 11, F64: 12, I64: 13,
};
/** The reference reader's limit (MAX_HEADER_SIZE): a larger header is refused before allocating it. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

function fail(where: string, msg: string): never {
  throw new TorchError(`${where}: ${msg}`);
}

export interface PlannedTensor {
  name: string;
  tensor: Tensor;
  begin: number;
  nbytes: number;
}
export interface Plan {
  /** The 8-byte length followed by the padded JSON header. */
  prefix: Uint8Array;
  tensors: PlannedTensor[];
  dataBytes: number;
}

const encoder = new TextEncoder();
const compareUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Validates everything to be written and lays the file out, before any byte reaches the disk. */
export function planFile(where: string, entries: [string, unknown][], metadata: unknown): Plan {
  const meta = metadata === undefined ? undefined : checkMetadata(where, metadata, 'metadata');
  const items = entries.map(([name, t]) => {
    if (typeof name !== 'string' || LONE_SURROGATE.test(name)) fail(where, `tensor name ${JSON.stringify(name)} is not a valid Unicode string`);
    if (name === METADATA_KEY) fail(where, `'${METADATA_KEY}' is reserved for metadata and cannot name a tensor`);
    if (!(t instanceof Tensor)) fail(where, `'${name}' is not a Tensor`);
    const tensor = t;
    if (tensor.isDisposed) fail(where, `tensor '${name}' is disposed`);
    const st = FROM_TORCH[tensor.dtype];
    if (st === undefined) fail(where, `tensor '${name}' has dtype ${tensor.dtype}, which safetensors cannot store`);
    const shape = tensor.shape;
    return { name, tensor, st, shape, nbytes: tensor.numel() * ITEM_SIZE[tensor.dtype] };
  });
  items.sort((a, b) => RANK[b.st]! - RANK[a.st]! || compareUtf8(a.name, b.name));
  let offset = 0;
  const parts: string[] = [];
  if (meta !== undefined) {
    const keys = Object.keys(meta).sort(compareUtf8); // the reference writes a HashMap (any order); sorted is deterministic
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',')}}`);
  }
  const tensors = items.map((it) => {
    parts.push(`${JSON.stringify(it.name)}:{"dtype":"${it.st}","shape":[${it.shape.join(',')}],"data_offsets":[${offset},${offset + it.nbytes}]}`);
    const planned = { name: it.name, tensor: it.tensor, begin: offset, nbytes: it.nbytes };
    offset += it.nbytes;
    return planned;
  });
  const json = encoder.encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.length / 8) * 8;
  if (n > MAX_HEADER_BYTES) fail(where, `the header would be ${n} bytes, over the format's ${MAX_HEADER_BYTES}-byte limit`);
  const prefix = new Uint8Array(8 + n).fill(0x20, 8 + json.length); // pad with spaces
  new DataView(prefix.buffer).setBigUint64(0, BigInt(n), true);
  prefix.set(json, 8);
  return { prefix, tensors, dataBytes: offset };
}

function checkMetadata(where: string, m: unknown, what: string): Record<string, string> {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(where, `${what} must be an object of strings`);
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') fail(where, `${what} value for '${k}' must be a string, got ${v === null ? 'null' : typeof v}`);
  }
  return m as Record<string, string>;
}

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}
export interface ParsedHeader {
  /** Header length N (the data section starts at 8 + N). */
  headerBytes: number;
  metadata: Record<string, string> | undefined;
  /** Sorted by name (byte order). */
  tensors: TensorEntry[];
}

/** Reads the 8-byte length prefix: the header length, checked against the file size. */
export function parseLength(where: string, prefix: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8) fail(where, `${fileBytes} bytes is too short for a safetensors file (the header length alone takes 8)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(where, `header length ${n} is over the format's ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  if (8n + n > BigInt(fileBytes)) fail(where, `header length ${n} runs past the end of the ${fileBytes}-byte file (truncated or not a safetensors file)`);
  return Number(n);
}

/** Parses and validates the JSON header against the size of the data section that follows it. */
export function parseHeader(where: string, headerBytes: Uint8Array, dataBytes: number): ParsedHeader {
  let text: string;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes); } catch {
    fail(where, 'the header is not valid UTF-8');
  }
  let root: unknown;
  try { root = JSON.parse(text); } catch (e) {
    fail(where, `the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) fail(where, 'the header must be a JSON object');
  const dup = duplicateKey(text);
  if (dup !== undefined) fail(where, `the header names ${JSON.stringify(dup)} more than once`);
  let metadata: Record<string, string> | undefined;
  const tensors: TensorEntry[] = [];
  for (const [name, info] of Object.entries(root)) {
    if (name === METADATA_KEY) { metadata = checkMetadata(where, info, `'${METADATA_KEY}'`); continue; }
    tensors.push(checkEntry(where, name, info));
  }
  // Offsets must tile the data section exactly: no overlap, no gap, nothing past the end.
  const byOffset = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const t of byOffset) {
    if (t.begin < pos) fail(where, `tensor '${t.name}' (bytes ${t.begin}-${t.end}) overlaps the tensor before it`);
    if (t.begin > pos) fail(where, `tensor '${t.name}' starts at byte ${t.begin} of the data, leaving a gap after byte ${pos}`);
    pos = t.end;
  }
  if (pos > dataBytes) fail(where, `the header describes ${pos} bytes of tensor data but the file holds ${dataBytes} (truncated)`);
  if (pos < dataBytes) fail(where, `the file has ${dataBytes - pos} bytes after the last tensor that the header does not describe`);
  tensors.sort((a, b) => compareUtf8(a.name, b.name));
  return { headerBytes: headerBytes.length, metadata, tensors };
}

function checkEntry(where: string, name: string, info: unknown): TensorEntry {
  const at = `tensor '${name}'`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(where, `${at}: expected {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: off } = info as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(where, `${at}: dtype must be a string`);
  const torchDtype = TO_TORCH[dtype];
  if (torchDtype === undefined) {
    fail(where, UNSUPPORTED.has(dtype)
      ? `${at}: dtype ${dtype} has no @climadiff/torch equivalent`
      : `${at}: unknown dtype ${JSON.stringify(dtype)} (valid: ${Object.keys(TO_TORCH).join(', ')})`);
  }
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(where, `${at}: shape must be an array of non-negative integers`);
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount)) fail(where, `${at}: data_offsets must be [begin, end], non-negative integers`);
  const [begin, end] = off as [number, number];
  if (end < begin) fail(where, `${at}: data_offsets [${begin}, ${end}] end before they begin`);
  // BigInt: a hostile shape must not overflow into a plausible byte count.
  const need = shape.reduce((acc: bigint, d: number) => acc * BigInt(d), 1n) * BigInt(ITEM_SIZE[torchDtype]);
  if (need !== BigInt(end - begin)) {
    fail(where, `${at}: shape [${shape.join(', ')}] of ${dtype} needs ${need} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype: torchDtype, shape: shape as number[], begin, end };
}

/**
 * JSON.parse keeps the last of duplicate keys silently; a header that names a tensor (or a field) twice is
 * ambiguous, so find any object key that repeats. The text is already known to be valid JSON.
 */
function duplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      let j = i + 1;
      while (j < text.length && ' \t\n\r'.includes(text[j]!)) j++;
      const keys = stack[stack.length - 1];
      if (text[j] === ':' && keys) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
    }
  }
  return undefined;
}
