// A land–sea mask on a regular lat-lon grid, rasterised from Natural Earth land polygons (the `world-atlas`
// package's TopoJSON): a cell is land when its centre lies inside a land polygon (even-odd rule over all
// rings, so lakes cut from a polygon stay water). Results are cached per grid.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { feature } from 'topojson-client';
import type { Topology, GeometryCollection } from 'topojson-specification';
import type { FeatureCollection, Feature, Geometry, Position } from 'geojson';

/** One polygon ring with its bounding box (for fast rejection). */
interface Ring { xs: Float64Array; ys: Float64Array; minX: number; maxX: number; minY: number; maxY: number }

let ringsCache: { resolution: string; rings: Ring[] } | null = null;
const maskCache = new Map<string, Uint8Array>();

function loadRings(resolution: '110m' | '50m'): Ring[] {
  if (ringsCache?.resolution === resolution) return ringsCache.rings;
  const require = createRequire(import.meta.url);
  const path = require.resolve(`world-atlas/land-${resolution}.json`);
  const topo = JSON.parse(readFileSync(path, 'utf8')) as Topology<{ land: GeometryCollection }>;
  const land = feature(topo, topo.objects.land) as FeatureCollection<Geometry> | Feature<Geometry>;
  const features = 'features' in land ? land.features : [land];
  const rings: Ring[] = [];
  const addRing = (r: Position[]): void => {
    const xs = new Float64Array(r.length), ys = new Float64Array(r.length);
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    r.forEach((p, i) => {
      const x = p[0]!, y = p[1]!;
      xs[i] = x; ys[i] = y;
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    });
    rings.push({ xs, ys, minX, maxX, minY, maxY });
  };
  for (const f of features) {
    const g = f.geometry;
    if (g.type === 'Polygon') g.coordinates.forEach(addRing);
    else if (g.type === 'MultiPolygon') g.coordinates.forEach((poly) => poly.forEach(addRing));
  }
  ringsCache = { resolution, rings };
  return rings;
}

/** Even-odd crossing test of (x, y) against one ring. */
function crossings(r: Ring, x: number, y: number): number {
  if (y < r.minY || y > r.maxY || x < r.minX || x > r.maxX) return 0;
  let c = 0;
  const n = r.xs.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const yi = r.ys[i]!, yj = r.ys[j]!;
    if ((yi > y) !== (yj > y)) {
      const xi = r.xs[i]!, xj = r.xs[j]!;
      if (x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c++;
    }
  }
  return c;
}

/** Whether the point (lon, lat) in degrees is on land (lon in any range; wrapped to [-180, 180)). */
export function isLand(lon: number, lat: number, resolution: '110m' | '50m' = '110m'): boolean {
  const rings = loadRings(resolution);
  const x = ((((lon + 180) % 360) + 360) % 360) - 180;
  // Antarctica's polygon runs along -90; treat everything south of -85 as land.
  if (lat < -85) return true;
  let c = 0;
  for (const r of rings) c += crossings(r, x, lat);
  return (c & 1) === 1;
}

/**
 * Land mask (1 = land) of shape [lat.length, lon.length], C order, for cell centres at the given
 * coordinates in degrees. Cached by grid.
 */
export function landMask(lat: ArrayLike<number>, lon: ArrayLike<number>, resolution: '110m' | '50m' = '110m'): Uint8Array {
  const key = `${resolution}:${Array.from(lat).join(',')}|${Array.from(lon).join(',')}`;
  const hit = maskCache.get(key);
  if (hit) return hit.slice();
  const m = new Uint8Array(lat.length * lon.length);
  for (let i = 0; i < lat.length; i++) {
    for (let j = 0; j < lon.length; j++) m[i * lon.length + j] = isLand(lon[j]!, lat[i]!, resolution) ? 1 : 0;
  }
  maskCache.set(key, m);
  return m.slice();
}

/** Cell-centre coordinates of a regular global grid: lat from south to north, lon from 0 eastwards. */
export function globalGrid(nlat: number, nlon: number): { lat: Float64Array; lon: Float64Array } {
  const lat = new Float64Array(nlat), lon = new Float64Array(nlon);
  for (let i = 0; i < nlat; i++) lat[i] = -90 + (180 * (i + 0.5)) / nlat;
  for (let j = 0; j < nlon; j++) lon[j] = (360 * (j + 0.5)) / nlon;
  return { lat, lon };
}
