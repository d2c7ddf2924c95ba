// Every command but generate, registered on the program in one module: cli.ts
// imports this once, so the build puts the command definitions in one chunk and
// `gitspace-chart --help` reads a few files instead of one per command module.
// What a command needs only to run (execa, yaml, ajv, node:crypto, the modules
// doing the work) each module loads in its action.
import type { Command } from 'commander';
import { registerModelCommands } from './commands.ts';
import { registerFeatureCommands } from './features/commands.ts';
import { registerFleetCommands } from './fleet.ts';
import { registerOperationCommands } from './operations.ts';
import { registerRescueCommands } from './rescue.ts';

export function registerCommands(program: Command): void {
  registerModelCommands(program);
  registerOperationCommands(program);
  registerFleetCommands(program);
  registerRescueCommands(program);
  registerFeatureCommands(program);
}
