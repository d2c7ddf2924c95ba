// gitspace-chart: the command line. Each command lives in its own module; this
// file only wires options to them and turns errors into one clear line.
import { Command, CommanderError } from 'commander';

/** An error meant for the user: printed as one line, exit code 1. */
export class UserError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('gitspace-chart')
    .description('Run a gitspace on Kubernetes exactly like the Docker Gitspace runtime')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('generate')
    .description('write values.yaml, values.schema.json, the chart README and _model.tpl from schema/')
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
    const { registerModelCommands } = await import('./commands.ts').catch(() => ({ registerModelCommands: undefined }));
    registerModelCommands?.(program);
    (await import('./rescue.ts')).registerRescueCommands(program);
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`gitspace-chart: ${msg}\n`);
    return 1;
  }
}
