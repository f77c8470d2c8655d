#!/usr/bin/env node
/**
 * The `syncbn-sim` command: glue only. Everything, the exit code included, is decided in
 * src/cli/program.ts's `main`, which tests call directly; setting `process.exitCode` instead of
 * calling `process.exit` lets stdout drain before the process ends.
 */

// Ctrl-C before a command has put its own handler in place (while modules load, flags are parsed
// or data is read) ends the process as an interrupted run does: exit 130 and one line, never death
// by signal. Once a command listens for SIGINT itself, this one steps aside.
process.on('SIGINT', () => {
  if (process.listenerCount('SIGINT') > 1) return;
  process.stderr.write('syncbn-sim: interrupted: the run stopped before it finished, nothing was written\n');
  process.exit(130);
});

const { main } = await import('../src/cli/program.js');
process.exitCode = await main(process.argv);
