// Area weights and regions of the scores: cos(latitude) row weights with mean 1, per-cell weights w_j = a_y r_j, and
// the region masks (latitude bands as in WeatherBench 2, land / ocean from a caller's land mask, intersections).
// Pure functions; no torch, no I/O.

/** Area weighting and region of a score. */
export interface AreaOptions {
  /** Latitudes in degrees of the H rows (cos-latitude weights); null / absent = uniform rows. */
  lat?: ArrayLike<number> | null;
  /** Per-cell weight or mask of H*W values (>= 0; 0 excludes a cell), multiplying the latitude weights. */
  region?: ArrayLike<number> | null;
}

/** Latitude weights of H rows: a_y = cos(lat_y) / ((1/H) sum_y' cos(lat_y')), i.e. proportional to cos(lat) with
 *  mean 1 (rows at +-90 degrees weigh 0). lat in degrees; null / undefined gives uniform weights (all 1). */
export function latitudeWeights(lat: ArrayLike<number> | null | undefined, H: number): Float64Array {
  if (!Number.isInteger(H) || H < 1) throw new Error(`latitudeWeights: H must be a positive integer, got ${H}`);
  const w = new Float64Array(H);
  if (lat == null) return w.fill(1);
  if (lat.length !== H) throw new Error(`latitudeWeights: got ${lat.length} latitudes for H = ${H} rows`);
  let s = 0;
  for (let y = 0; y < H; y++) {
    const v = lat[y]!;
    if (!Number.isFinite(v) || Math.abs(v) > 90) throw new Error(`latitudeWeights: latitude ${y} is ${v}, expected degrees in [-90, 90]`);
    const c = Math.abs(v) === 90 ? 0 : Math.cos((v * Math.PI) / 180);
    w[y] = c; s += c;
  }
  if (!(s > 0)) throw new Error('latitudeWeights: every row is at a pole (all cos(lat) are 0)');
  for (let y = 0; y < H; y++) w[y] = (w[y]! * H) / s;
  return w;
}

/** Cell weights w_j = a_y r_j (H*W, C order): latitude weights of the row times the region weight of the cell.
 *  Throws when the region has no cell of positive weight. */
export function cellWeights(H: number, W: number, o: AreaOptions = {}, who = 'cellWeights'): Float64Array {
  const a = latitudeWeights(o.lat ?? null, H), HW = H * W, w = new Float64Array(HW);
  const r = o.region ?? null;
  if (r && r.length !== HW) throw new Error(`${who}: region has ${r.length} values, expected H*W = ${HW}`);
  let any = false;
  for (let j = 0; j < HW; j++) {
    const rj = r ? r[j]! : 1;
    if (!Number.isFinite(rj) || rj < 0) throw new Error(`${who}: region weight of cell ${j} is ${rj}, expected a finite value >= 0`);
    w[j] = a[Math.floor(j / W)]! * rj;
    if (w[j]! > 0) any = true;
  }
  if (!any) throw new Error(`${who}: the region is empty (no cell has a positive weight)`);
  return w;
}

/** Latitude bands of WeatherBench 2's regions, in degrees [south, north] (both ends included). */
export const LATITUDE_BANDS: Readonly<Record<string, ReadonlyArray<readonly [number, number]>>> = Object.freeze({
  global: [[-90, 90]],
  tropics: [[-20, 20]],
  extratropics: [[-90, -20], [20, 90]],
  northernExtratropics: [[20, 90]],
  southernExtratropics: [[-90, -20]],
});

/** Region (H*W, C order) of 1 in the rows whose latitude lies in one of the bands (south <= lat <= north, degrees),
 *  0 elsewhere; e.g. latitudeBandRegion(lat, W, LATITUDE_BANDS.tropics). */
export function latitudeBandRegion(lat: ArrayLike<number>, W: number, bands: ReadonlyArray<readonly [number, number]>): Float32Array {
  if (!Number.isInteger(W) || W < 1) throw new Error(`latitudeBandRegion: W must be a positive integer, got ${W}`);
  if (bands.length === 0) throw new Error('latitudeBandRegion: no band given');
  for (const [s, n] of bands) if (!(s <= n)) throw new Error(`latitudeBandRegion: band [${s}, ${n}] must have south <= north`);
  const H = lat.length, out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const v = lat[y]!;
    if (bands.some(([s, n]) => v >= s && v <= n)) out.fill(1, y * W, (y + 1) * W);
  }
  return out;
}

/** Land or ocean region (H*W) from a land mask or land fraction given by the caller: land where landMask >= threshold,
 *  ocean where landMask < threshold; non-finite mask values belong to neither. */
export function landOceanRegion(landMask: ArrayLike<number>, which: 'land' | 'ocean', threshold = 0.5): Float32Array {
  if (which !== 'land' && which !== 'ocean') throw new Error(`landOceanRegion: which must be 'land' or 'ocean', got ${String(which)}`);
  if (!Number.isFinite(threshold)) throw new Error(`landOceanRegion: threshold must be finite, got ${threshold}`);
  const out = new Float32Array(landMask.length);
  for (let j = 0; j < landMask.length; j++) {
    const v = landMask[j]!;
    if (Number.isFinite(v)) out[j] = (v >= threshold) === (which === 'land') ? 1 : 0;
  }
  return out;
}

/** Product of regions of equal length (e.g. land within the tropics). */
export function intersectRegions(...regions: ArrayLike<number>[]): Float32Array {
  if (regions.length === 0) throw new Error('intersectRegions: no region given');
  const n = regions[0]!.length, out = new Float32Array(n).fill(1);
  for (const r of regions) {
    if (r.length !== n) throw new Error(`intersectRegions: regions have ${n} and ${r.length} cells`);
    for (let j = 0; j < n; j++) out[j] = out[j]! * r[j]!;
  }
  return out;
}
