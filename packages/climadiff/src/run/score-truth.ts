// The truth of `climadiff score` (run/score.ts): one file as it is (with its land fraction for the land and ocean
// regions), or many files and a selection read through a source, and the selection a forecast file records.
import { DataError, type ClimateDataset } from '../data/types.js';
import { dataVariableNames, openDataset, openSource } from '../data/readers/index.js';
import { openSelectedSource, SourceSelectionSchema, type SourceSelection } from '../data/select-source.js';
import { sourceDataset } from '../data/clip-source.js';

/** Names of land fraction variables (besides standard_name land_area_fraction / land_binary_mask). */
export const LAND_NAMES = ['sftlf', 'lsm', 'landsea', 'land_sea_mask', 'lsmask', 'landmask', 'slmsk', 'land_fraction', 'landfrac'];

/** The truth from one file as it is, with its land fraction variable when the land or ocean regions want it. */
export async function truthFile(truth: string, variables: string[], wantLand: boolean): Promise<{ ds: ClimateDataset; landName: string | null }> {
  const src = await openSource(truth);
  let landName: string | null = null;
  try {
    const missing = variables.filter((v) => !src.variables.has(v));
    if (missing.length) {
      throw new DataError('unknown-variable', `the truth file ${truth} has no variable ${missing.map((v) => `'${v}'`).join(', ')} (it has ${dataVariableNames(src).join(', ') || 'no data variable'})`);
    }
    for (const v of src.variables.values()) {
      const sn = v.attrs['standard_name'];
      if (sn === 'land_area_fraction' || sn === 'land_binary_mask' || LAND_NAMES.includes(v.name.toLowerCase())) { landName = v.name; break; }
    }
  } finally {
    src.close();
  }
  if (wantLand && !landName) {
    throw new DataError('bad-option', `the land and ocean regions need a land fraction variable in the truth file (${LAND_NAMES.slice(0, 4).join(', ')}, ... or standard_name land_area_fraction); ${truth} has none`);
  }
  return { ds: await openDataset(truth, { variables: [...variables, ...(wantLand && landName && !variables.includes(landName) ? [landName] : [])] }), landName };
}

/** The truth from many files and/or a selection, read into memory through a source (data/select-source.ts). */
export async function selectedTruth(truth: string, variables: string[], select: SourceSelection | null): Promise<{ ds: ClimateDataset; landName: null }> {
  const source = await openSelectedSource(truth, variables, select);
  try { return { ds: await sourceDataset(source), landName: null }; } finally { source.close?.(); }
}

/** The selection a forecast file records (climadiff_selection), validated. */
export function recordedSelection(json: string, path: string): SourceSelection | null {
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { throw new DataError('bad-file', `${path}: its climadiff_selection attribute is not JSON`); }
  if (parsed === null) return null;
  const r = SourceSelectionSchema.safeParse(parsed);
  if (!r.success) throw new DataError('bad-file', `${path}: its climadiff_selection attribute is not a selection (${r.error.issues.map((i) => i.message).join('; ')})`);
  return r.data;
}
