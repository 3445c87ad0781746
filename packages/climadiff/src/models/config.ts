// The 3D U-Net's configuration: a plain JSON object (stored in checkpoints beside the weights, and read
// by the PyTorch twin interop/pytorch/unet3d.py), validated with precise messages.
import type { LearnedTransformConfig } from './transform.js';
import type { RepresentationConfig } from './encoder.js';

export type ModelParameterisation = 'v' | 'eps' | 'x';

export interface BoundaryConfig {
  /** 'periodic' wraps the longitude axis (W) around for global grids; 'zeros' pads with zeros. */
  lon: 'periodic' | 'zeros';
  /** Padding at the latitude edges (H): zeros or reflection. */
  lat: 'zeros' | 'reflect';
}

export type GridPadding = 'none' | 'reflect' | 'zeros';

export interface UNet3DConfig {
  /** Data channels of x (and of the prediction unless outChannels is given). */
  inChannels: number;
  /** Channels of the prediction; default inChannels. */
  outChannels: number;
  /** Conditioning channels concatenated to the input (static fields); 0 for none. */
  condChannels: number;
  /** Channels at the full resolution (level 0). */
  channels: number;
  /** Channel multiplier per level; level l works at H/2^l x W/2^l with channels * channelMults[l]. */
  channelMults: number[];
  /** Residual blocks per level on the way down (the way up has one more, for the extra skip). */
  numResBlocks: number;
  /** Levels (0 = full resolution) with spatial self-attention within each frame; the middle always has it. */
  attentionLevels: number[];
  /** Temporal self-attention along frames after every residual block (default true). */
  temporalAttention: boolean;
  /** Channels per attention head (heads = channels / headChannels). */
  headChannels: number;
  /** Relative frame distances are clipped to [-maxRelativeDistance, maxRelativeDistance] for the learned bias. */
  maxRelativeDistance: number;
  /** GroupNorm groups (must divide every level's channels). */
  groups: number;
  /** Dropout probability inside residual blocks. */
  dropout: number;
  /** Width of the noise-level embedding; default 4 * channels. */
  embedChannels: number;
  boundary: BoundaryConfig;
  /**
   * A grid that the levels do not divide (H or W not a multiple of 2^(levels-1)): 'none' refuses it; 'reflect' or
   * 'zeros' pads the input (x and cond) inside forward() up to the next multiple, split evenly between the two edges,
   * and crops the prediction back to H x W. Longitude wraps around instead when boundary.lon is 'periodic'. The
   * padding is only a boundary condition for the convolutions: the diffusion state, the loss and every output stay
   * on the data's own grid.
   */
  gridPadding: GridPadding;
  /** What forward() predicts: v (the seed's choice), eps or x. */
  parameterisation: ModelParameterisation;
  /**
   * Date features per clip (data/dates.ts: sin/cos of the time of year, and of day), 0 for none: embedded by an
   * MLP (D -> E -> E) and added to the noise-level embedding, so every residual block sees the date.
   */
  dateFeatures: number;
  /** Input channels passed through a learned monotone transform (models/transform.ts) before the U-Net. */
  learnedTransforms: LearnedTransformConfig[];
  /**
   * A representation model (002_b831863fd030c65c.txt): an encoder q(w|x) and the U-Net conditioned on w through an
   * MLP of w (d -> E -> E) added to the noise-level embedding; null for an unconditional model.
   */
  representation: RepresentationConfig | null;
}

export type UNet3DConfigInput = Partial<Omit<UNet3DConfig, 'boundary' | 'learnedTransforms' | 'representation'>> & {
  inChannels: number;
  representation?: (Pick<RepresentationConfig, 'dim'> & Partial<RepresentationConfig>) | null;
  boundary?: Partial<BoundaryConfig>;
  learnedTransforms?: (Omit<LearnedTransformConfig, 'hidden'> & { hidden?: number })[];
};

export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

function bad(field: string, expected: string, got: unknown): never {
  throw new ModelConfigError(`UNet3D config: ${field} must be ${expected}, got ${JSON.stringify(got)}`);
}
function posInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) bad(field, 'a positive integer', v);
  return v as number;
}
function nonNegInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(field, 'a non-negative integer', v);
  return v as number;
}

const KNOWN = new Set(['inChannels', 'outChannels', 'condChannels', 'channels', 'channelMults', 'numResBlocks', 'attentionLevels',
  'temporalAttention', 'headChannels', 'maxRelativeDistance', 'groups', 'dropout', 'embedChannels', 'boundary', 'gridPadding', 'parameterisation',
  'dateFeatures', 'learnedTransforms', 'representation']);

/** Fills in defaults and validates; throws ModelConfigError naming the field, what is valid and what was given. */
export function unet3dConfig(input: UNet3DConfigInput): UNet3DConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) bad('the config', 'an object', input);
  for (const k of Object.keys(input)) if (!KNOWN.has(k)) throw new ModelConfigError(`UNet3D config: unknown field '${k}' (valid: ${[...KNOWN].join(', ')})`);
  const inChannels = posInt('inChannels', input.inChannels);
  const channels = posInt('channels', input.channels ?? 32);
  if (channels % 2 !== 0) bad('channels', 'an even positive integer (the sinusoidal embedding has channels/2 frequencies)', channels);
  const mults = input.channelMults ?? [1, 2, 2];
  if (!Array.isArray(mults) || mults.length === 0) bad('channelMults', 'a non-empty array of positive integers', mults);
  mults.forEach((m, i) => posInt(`channelMults[${i}]`, m));
  const levels = mults.length;
  const attentionLevels = input.attentionLevels ?? (levels > 1 ? [levels - 1] : []);
  if (!Array.isArray(attentionLevels)) bad('attentionLevels', `an array of level indices in 0..${levels - 1}`, attentionLevels);
  for (const l of attentionLevels) {
    if (!Number.isInteger(l) || l < 0 || l >= levels) bad('attentionLevels', `an array of level indices in 0..${levels - 1}`, attentionLevels);
  }
  const groups = posInt('groups', input.groups ?? 8);
  for (const m of mults) {
    if ((channels * m) % groups !== 0) bad('groups', `a divisor of every level's channels (${mults.map((k) => k * channels).join(', ')})`, groups);
  }
  const headChannels = posInt('headChannels', input.headChannels ?? Math.min(32, channels));
  for (const m of mults) {
    if ((channels * m) % headChannels !== 0) bad('headChannels', `a divisor of every level's channels (${mults.map((k) => k * channels).join(', ')})`, headChannels);
  }
  const dropout = input.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) bad('dropout', 'a number in [0, 1)', dropout);
  const b = input.boundary ?? {};
  if (b === null || typeof b !== 'object') bad('boundary', "an object { lon: 'periodic'|'zeros', lat: 'zeros'|'reflect' }", b);
  const lon = b.lon ?? 'periodic';
  const lat = b.lat ?? 'zeros';
  if (lon !== 'periodic' && lon !== 'zeros') bad('boundary.lon', "'periodic' or 'zeros'", lon);
  if (lat !== 'zeros' && lat !== 'reflect') bad('boundary.lat', "'zeros' or 'reflect'", lat);
  const gridPadding = input.gridPadding ?? 'none';
  if (gridPadding !== 'none' && gridPadding !== 'reflect' && gridPadding !== 'zeros') bad('gridPadding', "'none', 'reflect' or 'zeros'", gridPadding);
  const parameterisation = input.parameterisation ?? 'v';
  if (!['v', 'eps', 'x'].includes(parameterisation)) bad('parameterisation', "'v', 'eps' or 'x'", parameterisation);
  const lt = input.learnedTransforms ?? [];
  if (!Array.isArray(lt)) bad('learnedTransforms', 'an array of { channel, hidden, domainMax, threshold }', lt);
  const learnedTransforms = lt.map((t, i) => {
    if (t === null || typeof t !== 'object') bad(`learnedTransforms[${i}]`, 'an object { channel, hidden, domainMax, threshold }', t);
    const channel = nonNegInt(`learnedTransforms[${i}].channel`, t.channel);
    if (channel >= inChannels) bad(`learnedTransforms[${i}].channel`, `a channel index below inChannels (${inChannels})`, channel);
    if (!(typeof t.domainMax === 'number' && t.domainMax > 0 && Number.isFinite(t.domainMax))) bad(`learnedTransforms[${i}].domainMax`, 'a positive number', t.domainMax);
    if (!(typeof t.threshold === 'number' && t.threshold >= 0 && t.threshold < t.domainMax)) bad(`learnedTransforms[${i}].threshold`, 'a number in [0, domainMax)', t.threshold);
    return { channel, hidden: posInt(`learnedTransforms[${i}].hidden`, t.hidden ?? 16), domainMax: t.domainMax, threshold: t.threshold };
  });
  if (new Set(learnedTransforms.map((t) => t.channel)).size !== learnedTransforms.length) bad('learnedTransforms', 'one entry per channel', lt);
  const representation = representationConfig(input.representation ?? null, channels, groups);
  const temporalAttention = input.temporalAttention ?? true;
  if (typeof temporalAttention !== 'boolean') bad('temporalAttention', 'a boolean', temporalAttention);
  return {
    inChannels,
    outChannels: posInt('outChannels', input.outChannels ?? inChannels),
    condChannels: nonNegInt('condChannels', input.condChannels ?? 0),
    channels,
    channelMults: [...mults],
    numResBlocks: posInt('numResBlocks', input.numResBlocks ?? 1),
    attentionLevels: [...new Set(attentionLevels)].sort((a, c) => a - c),
    temporalAttention,
    headChannels,
    maxRelativeDistance: posInt('maxRelativeDistance', input.maxRelativeDistance ?? 16),
    groups,
    dropout,
    embedChannels: posInt('embedChannels', input.embedChannels ?? 4 * channels),
    boundary: { lon, lat },
    gridPadding,
    parameterisation,
    dateFeatures: nonNegInt('dateFeatures', input.dateFeatures ?? 0),
    learnedTransforms,
    representation,
  };
}

/** The representation part of a config with defaults (encoder 'clip', the U-Net's channels, 3 levels), validated. */
function representationConfig(r: UNet3DConfigInput['representation'], channels: number, groups: number): RepresentationConfig | null {
  if (r === null) return null;
  if (typeof r !== 'object' || Array.isArray(r)) bad('representation', 'null or an object { dim, encoder, channels, levels }', r);
  for (const k of Object.keys(r)) if (!['dim', 'encoder', 'channels', 'levels'].includes(k)) throw new ModelConfigError(`UNet3D config: unknown field 'representation.${k}' (valid: dim, encoder, channels, levels)`);
  const encoder = r.encoder ?? 'clip';
  if (encoder !== 'clip' && encoder !== 'frame') bad('representation.encoder', "'clip' or 'frame'", encoder);
  const ch = posInt('representation.channels', r.channels ?? channels);
  if (ch % groups !== 0) bad('representation.channels', `a multiple of groups (${groups})`, ch);
  return { dim: posInt('representation.dim', r.dim), encoder, channels: ch, levels: nonNegInt('representation.levels', r.levels ?? 3) };
}
