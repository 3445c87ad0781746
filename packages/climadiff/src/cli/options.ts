// Option parsers and helpers shared by the commands (commander reports a parser's InvalidArgumentError as
// "option '--x <n>' argument 'v' is invalid. expected ...", with a non-zero exit).
import { InvalidArgumentError, type Command } from 'commander';

/** An integer option in [min, max]. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}` : `expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}
export const positiveInt = intOption(1);

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** The command line as typed, for history attributes (arguments with spaces quoted). */
export function commandLine(cmd: Command): string {
  let root: Command = cmd;
  while (root.parent !== null) root = root.parent;
  const args = (root as Command & { rawArgs?: string[] }).rawArgs?.slice(2) ?? process.argv.slice(2);
  return ['climadiff', ...args].map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}
