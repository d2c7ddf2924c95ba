#!/usr/bin/env node
// The CLI is written in TypeScript and run through tsx, so there is no build
// step between editing generator/src and running it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../generator/src/cli.ts');
process.exitCode = await main(process.argv);
