// NetCDF classic (CDF\x01) and 64-bit offset (CDF\x02) files. The header is parsed by `netcdfjs` (read from
// the first bytes of the file, growing the read until the header fits); data are then read straight from
// the file at the offsets the header gives, so only the requested records are loaded, not the whole file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { NetCDFReader } from 'netcdfjs';
import { DataError, type AttrValue, type Attrs } from '../types.js';
import { product, type RawDtype, type RawSource, type RawVariable, type Ranges, fullRanges, sliceArray } from './source.js';

const TYPE_SIZE: Record<string, number> = { byte: 1, char: 1, short: 2, int: 4, float: 4, double: 8 };
const TYPE_DTYPE: Record<string, RawDtype> = {
  byte: 'int8', char: 'char', short: 'int16', int: 'int32', float: 'float32', double: 'float64',
};

interface NcAttr { name: string; type: string; value: unknown }
interface NcVar { name: string; dimensions: number[]; attributes: NcAttr[]; type: string; offset: number; record: boolean }

function toAttrs(list: NcAttr[]): Attrs {
  const out: Attrs = {};
  for (const a of list) {
    const v = a.value;
    let val: AttrValue;
    if (typeof v === 'string') val = v.replace(/\0+$/, '');
    else if (typeof v === 'number') val = v;
    else if (Array.isArray(v)) val = v.map(Number);
    else if (ArrayBuffer.isView(v)) val = Array.from(v as unknown as ArrayLike<number>, Number);
    else val = String(v);
    out[a.name] = val;
  }
  return out;
}

function readHeader(fd: number, fileSize: number, path: string): NetCDFReader {
  let n = Math.min(fileSize, 1 << 16);
  for (;;) {
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 0);
    try {
      return new NetCDFReader(buf);
    } catch (e) {
      if (n < fileSize) { n = Math.min(fileSize, n * 4); continue; }
      const msg = (e as Error).message;
      const truncated = /offset|out of range|outside|bounds|end of/i.test(msg);
      throw new DataError(truncated ? 'truncated-file' : 'corrupt-file',
        `${path}: cannot parse the NetCDF header (${msg}); the file is ${truncated ? 'truncated' : 'corrupt'} or not NetCDF`);
    }
  }
}

export function openNetcdf3(path: string): RawSource {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const reader = readHeader(fd, fileSize, path);
    const header = reader.header;
    const dimList = header.dimensions;
    const recordLen = header.recordDimension.length;
    const recordId = header.recordDimension.id;
    const recordStep = header.recordDimension.recordStep ?? 0;
    const dims = new Map<string, number>();
    dimList.forEach((d, i) => dims.set(d.name, i === recordId ? recordLen : d.size));
    const variables = new Map<string, RawVariable>();
    const ncVars = new Map<string, NcVar>();
    for (const v of header.variables as unknown as NcVar[]) {
      const vdims = v.dimensions.map((i) => dimList[i]!.name);
      const shape = vdims.map((d) => dims.get(d)!);
      variables.set(v.name, {
        name: v.name, dims: vdims, shape, dtype: TYPE_DTYPE[v.type] ?? 'other', attrs: toAttrs(v.attributes),
      });
      ncVars.set(v.name, v);
    }
    const attrs = toAttrs(header.globalAttributes as NcAttr[]);
    const format = reader.version === '64-bit offset format' ? 'netcdf3-64bit-offset' : 'netcdf3-classic';
    let closed = false;

    const readElements = (v: NcVar, raw: RawVariable, byteOffset: number, count: number, out: Float64Array, at: number) => {
      const size = TYPE_SIZE[v.type]!;
      const nbytes = count * size;
      if (byteOffset + nbytes > fileSize) {
        throw new DataError('truncated-file',
          `${path}: variable '${raw.name}' needs bytes ${byteOffset}..${byteOffset + nbytes} but the file has only ${fileSize} bytes; the file is truncated`);
      }
      const buf = Buffer.alloc(nbytes);
      readSync(fd, buf, 0, nbytes, byteOffset);
      const dv = new DataView(buf.buffer, buf.byteOffset, nbytes);
      switch (v.type) {
        case 'byte': case 'char': for (let i = 0; i < count; i++) out[at + i] = dv.getInt8(i); break;
        case 'short': for (let i = 0; i < count; i++) out[at + i] = dv.getInt16(i * 2, false); break;
        case 'int': for (let i = 0; i < count; i++) out[at + i] = dv.getInt32(i * 4, false); break;
        case 'float': for (let i = 0; i < count; i++) out[at + i] = dv.getFloat32(i * 4, false); break;
        case 'double': for (let i = 0; i < count; i++) out[at + i] = dv.getFloat64(i * 8, false); break;
        default: throw new DataError('unsupported-format', `${path}: variable '${raw.name}' has unsupported type ${v.type}`);
      }
    };

    return {
      path, format, dims, variables, attrs,
      async read(name: string, ranges?: Ranges): Promise<Float64Array> {
        if (closed) throw new DataError('closed', `${path}: file already closed`);
        const raw = variables.get(name);
        const v = ncVars.get(name);
        if (!raw || !v) throw new DataError('unknown-variable', `${path}: no variable '${name}'`);
        const r = ranges ?? fullRanges(raw.shape);
        if (raw.shape.length === 0) {
          const out = new Float64Array(1); readElements(v, raw, v.offset, 1, out, 0); return out;
        }
        // Read whole leading-dimension slabs (records, or rows of the first dimension) for the requested
        // range of the first dimension, then cut the rest of the hyperslab in memory.
        const [a, b] = r[0]!;
        const inner = product(raw.shape.slice(1));
        const slab = new Float64Array((b - a) * inner);
        const size = TYPE_SIZE[v.type]!;
        if (v.record) {
          for (let i = a; i < b; i++) readElements(v, raw, v.offset + i * recordStep, inner, slab, (i - a) * inner);
        } else {
          readElements(v, raw, v.offset + a * inner * size, (b - a) * inner, slab, 0);
        }
        const slabShape = [b - a, ...raw.shape.slice(1)];
        return sliceArray(slab, slabShape, [[0, b - a], ...r.slice(1)]);
      },
      close() { if (!closed) { closed = true; closeSync(fd); } },
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
