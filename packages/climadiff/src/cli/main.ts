#!/usr/bin/env node
// The climadiff command line. Each command lives in its own module with a register(program) function.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { DataError } from '../data/types.js';
import { register as registerFetch } from './fetch.js';
import { register as registerInfo, registerNormalisations } from './info.js';
import { register as registerConvert } from './convert.js';
import { register as registerPreview } from './preview.js';
import { register as registerSimulate } from './simulate.js';
import { register as registerRun, registerDemo } from './run-commands.js';
import { register as registerReference } from './reference.js';
import { register as registerScore } from './score.js';
import { register as registerTasks } from './tasks.js';
import { register as registerEmbed, registerEval as registerEmbedEval } from './embed.js';
import { EXIT_STOPPED } from './options.js';

export function buildProgram(): Command {
  // exitOverride before the commands are added, so that every subcommand inherits it: an invalid option value becomes a
  // thrown error that main() turns into exit status 1, never a process.exit() inside a library call
  const program = new Command('climadiff')
    .description('Video diffusion models for climate simulations')
    .showHelpAfterError()
    .exitOverride();
  const data = program.command('data').description('read, write, simulate and look at climate fields');
  registerFetch(data);
  registerInfo(data);
  registerNormalisations(data);
  registerConvert(data);
  registerPreview(data);
  registerSimulate(data);
  registerRun(program);
  registerDemo(program);
  registerReference(program);
  registerScore(program);
  registerTasks(program);
  registerEmbed(program);
  registerEmbedEval(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith('commander.')) return err.exitCode ?? 1; // commander printed its own message
    if (err.name === 'ResumableStop') { process.stderr.write(`${err.message}\n`); return EXIT_STOPPED; }
    if (err.name === 'WorkersFailed') { process.stderr.write(`climadiff: ${err.message}\n`); return err.exitCode ?? 1; }
    // Errors about the user's input (data, config, checkpoints, model shapes, libtorch arguments) are one
    // clear line; only programming errors (TypeError, ReferenceError, ...) carry a stack.
    const expected = e instanceof DataError || ['ConfigError', 'CheckpointError', 'ModelConfigError', 'ModelInputError',
      'TorchError', 'NonFiniteLossError', 'ZodError', 'PrecisionError', 'RunLockedError'].includes(err.name);
    process.stderr.write(`climadiff: ${expected ? err.message : err.stack ?? err.message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv).then((code) => { process.exitCode = code; });
}
