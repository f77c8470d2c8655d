#!/usr/bin/env node
/**
 * The `syncbn-sim` command: glue only. Everything, the exit code included, is decided in
 * src/cli/program.ts's `main`, which tests call directly; setting `process.exitCode` instead of
 * calling `process.exit` lets stdout drain before the process ends.
 */
import { main } from '../src/cli/program.js';

process.exitCode = await main(process.argv);
