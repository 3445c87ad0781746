/** Every error raised by libtorch or by a bad argument to an operator. `op` names the operator. */
export class TorchError extends Error {
  op?: string;
  constructor(message: string, op?: string) {
    super(message);
    this.name = 'TorchError';
    if (op !== undefined) this.op = op;
  }
}

/** A precise argument error in the style of sharp: what, which value, what is valid. */
export function invalidArg(name: string, expected: string, actual: unknown): TorchError {
  return new TorchError(`invalid ${name}: expected ${expected}, got ${describe(actual)}`);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array [${v.slice(0, 6).map(describe).join(', ')}${v.length > 6 ? ', ...' : ''}]`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  if (typeof v === 'string') return JSON.stringify(v);
  return `${typeof v} ${String(v)}`;
}
