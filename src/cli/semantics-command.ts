/** `syncbn-sim semantics`: every framework's synchronized BN on one batch, against exact BN. */
import type { Command } from 'commander';
import { SEMANTICS_DTYPES, semanticsExperiment } from '../experiments/semantics.js';
import { semanticsJson } from '../report/json/semantics-json.js';
import { semanticsPlot } from '../report/plots/semantics-plot.js';
import { semanticsTable } from '../report/tables/semantics-table.js';
import { SEMANTICS_CASES, type SemanticsCaseName } from '../semantics/cases.js';
import type { StorageType } from '../semantics/engine.js';
import { FRAMEWORK_NAMES, type FrameworkName } from '../semantics/rules.js';
import { knownName, listOf, oneOf } from './parse.js';
import { type ReportFlags, addReportOptions, checkReportFlags, emitReport } from './report-output.js';

interface SemanticsFlags extends ReportFlags {
  frameworks: FrameworkName[];
  cases: SemanticsCaseName[];
  dtype: StorageType;
}

/**
 * Registers `syncbn-sim semantics`.
 * @param program - the CLI program.
 */
export function addSemanticsCommand(program: Command): void {
  const command = program
    .command('semantics')
    .description(
      "every framework's synchronized BN (PyTorch, Keras, Flax, Horovod-TF, Detectron2, Apex) on one batch split over devices, against exact single-device BN",
    )
    .option(
      '--frameworks <list>',
      `comma-separated (${FRAMEWORK_NAMES.join(', ')}; detectron2-n is stats_mode "N")`,
      listOf('--frameworks', knownName('--frameworks', FRAMEWORK_NAMES, 'framework')),
      [...FRAMEWORK_NAMES],
    )
    .option(
      '--cases <list>',
      `comma-separated (${SEMANTICS_CASES.join(', ')})`,
      listOf('--cases', knownName('--cases', SEMANTICS_CASES, 'case')),
      [...SEMANTICS_CASES],
    )
    .option(
      '--dtype <type>',
      `storage of the inputs: ${SEMANTICS_DTYPES.join(', ')} (16 bits: mixed precision, and the format of the half cases)`,
      oneOf('--dtype', SEMANTICS_DTYPES),
      'float32',
    );
  addReportOptions(command).action(async (flags: SemanticsFlags) => {
    checkReportFlags(flags);
    const report = semanticsExperiment({ frameworks: flags.frameworks, cases: flags.cases, dtype: flags.dtype });
    await emitReport(
      flags,
      semanticsJson(report),
      () => semanticsTable(report),
      () => semanticsPlot(report),
    );
  });
}
