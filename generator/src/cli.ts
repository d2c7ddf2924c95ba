// gitspace-chart: the command line. Each command lives in its own module; this
// file only wires options to them and turns errors into clear messages: a
// UserError is the input's fault (one line, exit 1), anything else is a bug
// in gitspace-chart (exit 70, stack with --debug).
import { Command, CommanderError } from 'commander';

/** An error meant for the user: printed as one line, exit code 1. */
export class UserError extends Error {}

/** sysexits.h EX_SOFTWARE: gitspace-chart itself failed, whatever the input. */
export const EXIT_INTERNAL = 70;

/** What main prints and returns for an error a command threw. */
export function errorReport(err: unknown, debug: boolean): { exitCode: number; text: string } {
  if (err instanceof UserError) return { exitCode: 1, text: `gitspace-chart: ${err.message}\n` };
  const e = err instanceof Error ? err : new Error(String(err));
  const first = `gitspace-chart: internal error: ${e.message.split('\n')[0]}`;
  if (debug) return { exitCode: EXIT_INTERNAL, text: `${first}\n${e.stack ?? e.message}\n` };
  return { exitCode: EXIT_INTERNAL, text: `${first} (a bug in gitspace-chart, not in your input: rerun with --debug for the stack and report it)\n` };
}

/** --debug anywhere before a "--": known before commander parses, so a failing import is covered too. */
const wantsDebug = (argv: string[]) => {
  const end = argv.indexOf('--');
  return argv.slice(2, end < 0 ? undefined : end).includes('--debug');
};

export async function main(argv: string[]): Promise<number> {
  const program = new Command('gitspace-chart')
    .description('Run a gitspace on Kubernetes exactly like the Docker Gitspace runtime')
    .option('--debug', 'print the stack of an internal error')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('generate')
    .description('in a checkout of gitspace-chart only: write values.yaml, values.schema.json, the chart README and _model.tpl from schema/')
    .option('--check', 'fail when a generated file is stale instead of writing')
    .action(async (opts: { check?: boolean }) => {
      // Loaded only here: json-schema-to-typescript is slow to import and no other command needs it.
      const { generate } = await import('./generate.ts');
      const stale = await generate(Boolean(opts.check));
      if (opts.check && stale.length) {
        throw new UserError(`generated files are stale: ${stale.join(', ')}; run 'npm run generate' and commit them`);
      }
      process.stdout.write(stale.length ? `wrote ${stale.join(', ')}\n` : 'generated files are up to date\n');
    });

  try {
    // A module that fails to load is a bug: reported as one, never as "unknown command".
    (await import('./register.ts')).registerCommands(program);
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const r = errorReport(err, wantsDebug(argv));
    process.stderr.write(r.text);
    return r.exitCode;
  }
}
