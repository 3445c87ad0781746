// Coastlines from the world-atlas package (Natural Earth 1:110m land, TopoJSON) converted to GeoJSON with
// topojson-client, and projected onto a lat-lon grid's pixels by fractional grid index, so any regular or
// irregular (e.g. Gaussian) rectilinear grid, north-up or south-up, 0..360 or -180..180, is handled.
import { createRequire } from 'node:module';
import type { MultiPolygon, Polygon } from 'geojson';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';

let cached: [number, number][][] | null = null;

/** Every land outline ring as [lon, lat] points (degrees). */
export function landRings(): [number, number][][] {
  if (cached) return cached;
  const topo = createRequire(import.meta.url)('world-atlas/land-110m.json') as Topology<{ land: GeometryCollection }>;
  const fc = feature(topo, topo.objects.land);
  const rings: [number, number][][] = [];
  for (const f of fc.features) {
    const g = f.geometry as Polygon | MultiPolygon;
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    for (const p of polys) for (const r of p) rings.push(r.map((q) => [q[0]!, q[1]!] as [number, number]));
  }
  cached = rings;
  return rings;
}

/** Fractional index of v in a monotone coordinate (linear between points, extrapolated at the ends). */
export function fractionalIndex(coord: ArrayLike<number>, v: number): number {
  const n = coord.length;
  if (n === 1) return 0;
  const asc = coord[n - 1]! > coord[0]!;
  const val = (i: number): number => (asc ? coord[i]! : -coord[i]!);
  const x = asc ? v : -v;
  let lo = 0, hi = n - 1;
  if (x <= val(0)) hi = 1;
  else if (x >= val(n - 1)) lo = n - 2;
  else {
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (val(mid) <= x) lo = mid; else hi = mid; }
  }
  hi = lo + 1;
  return lo + (x - val(lo)) / (val(hi) - val(lo));
}

/**
 * Line segments [x0, y0, x1, y1] in map pixels (cell (row, col) covers [col*scale, (col+1)*scale)) of the
 * coastlines on a grid with these latitudes and longitudes; `northUp` flips a south-first grid.
 */
export function coastlineSegments(lat: ArrayLike<number>, lon: ArrayLike<number>, scale: number, northUp: boolean): number[] {
  const H = lat.length, W = lon.length;
  const dlon = W > 1 ? Math.abs(lon[1]! - lon[0]!) : 360;
  const west = Math.min(lon[0]!, lon[W - 1]!) - dlon / 2;
  const mapW = W * scale;
  const project = (lo: number, la: number): [number, number] => {
    const l = west + ((((lo - west) % 360) + 360) % 360); // into the window [west, west + 360)
    const col = fractionalIndex(lon, l);
    let row = fractionalIndex(lat, la);
    if (northUp) row = H - 1 - row;
    return [(col + 0.5) * scale, (row + 0.5) * scale];
  };
  const out: number[] = [];
  for (const ring of landRings()) {
    let prev = project(ring[0]![0], ring[0]![1]);
    for (let i = 1; i < ring.length; i++) {
      const p = project(ring[i]![0], ring[i]![1]);
      if (Math.abs(p[0] - prev[0]) < mapW / 2) out.push(prev[0], prev[1], p[0], p[1]); // skip the wrap seam
      prev = p;
    }
  }
  return out;
}
