/** The `train` report as text: the per-epoch lines printed while it trains, and the final summary. */
import { type EpochRow, type RunHeader, type TrainReport, normalizationLabel } from '../../experiments/train.js';
import { formatNumber, renderTable } from '../table.js';

/** Columns of the per-epoch lines. */
const EPOCH_HEADER = [
  'run',
  'epoch',
  'train loss',
  'train acc',
  'test acc (running)',
  'test acc (precise BN)',
  'test acc (batch stats)',
  'seconds',
];

/**
 * How a run is named in the epoch lines and notes.
 * @param run - the run.
 * @returns e.g. `sync W=8 b=32 lr=1`, with the normalization when it is not batch norm.
 */
export function runName(run: RunHeader): string {
  return `${normalizationLabel(run)} W=${run.devices} b=${run.perDeviceBatch} lr=${formatNumber(run.lr, 3)}`;
}

/** Widths of the per-epoch lines, printed one by one as epochs finish. */
const EPOCH_WIDTHS = [40, 5, 10, 9, 18, 21, 22, 7];

function epochCells(cells: readonly (string | number)[]): string {
  return cells
    .map((c, i) => (i === 0 ? String(c).padEnd(EPOCH_WIDTHS[i]) : String(c).padStart(EPOCH_WIDTHS[i])))
    .join('  ');
}

/**
 * The header of the per-epoch lines, printed before the first.
 * @returns the line.
 */
export function epochHeaderLine(): string {
  return epochCells(EPOCH_HEADER);
}

/**
 * One epoch of one run as a line, printed as the epoch finishes.
 * @param run - the run.
 * @param e - the epoch.
 * @returns the line, in the columns of {@link epochHeaderLine}.
 */
export function epochLine(run: RunHeader, e: EpochRow): string {
  const f = (v: number) => v.toFixed(4);
  return epochCells([
    runName(run),
    e.epoch,
    f(e.trainLoss),
    f(e.trainAcc),
    f(e.testAcc),
    f(e.testAccPrecise),
    f(e.testAccBatch),
    e.seconds.toFixed(1),
  ]);
}

/**
 * The table printed after training: the final epoch of every run side by side, with the settings
 * and the examples each epoch dropped.
 * @param r - the training report.
 * @returns the text, lines joined by '\n' (it starts with an empty line, after the epoch lines).
 */
export function trainSummary(r: TrainReport): string {
  const lines = [
    '',
    `Final epoch of every run (${r.model} on ${r.dataset.name}: ${r.dataset.train} training and ${r.dataset.test} test examples; SGD momentum ${r.settings.momentum}, weight decay ${r.settings.weightDecay}, seed ${r.settings.seed};` +
      ` BN momentum ${r.settings.bnMomentum}, eps ${r.settings.bnEps}, statistics by ${r.settings.stats}):`,
    renderTable(
      [
        'norm',
        'BN',
        'devices',
        'per-device batch',
        'global batch',
        'lr',
        'train loss',
        'train acc',
        'test acc',
        'precise BN',
        'batch stats',
        'examples/s',
      ],
      r.runs.map((run) => {
        const e = run.epochs[run.epochs.length - 1];
        return [
          run.norm,
          run.bn,
          run.devices,
          run.perDeviceBatch,
          run.globalBatch,
          run.lr,
          formatNumber(e.trainLoss, 4),
          formatNumber(e.trainAcc, 4),
          formatNumber(e.testAcc, 4),
          formatNumber(e.testAccPrecise, 4),
          formatNumber(e.testAccBatch, 4),
          Math.round(run.examplesPerSecond),
        ];
      }),
    ),
  ];
  const dropped = r.runs.filter((run) => run.droppedPerEpoch > 0);
  for (const run of dropped)
    lines.push(
      `${runName(run)}: the last ${run.droppedPerEpoch} examples of every epoch were dropped (fewer than 2 per device).`,
    );
  if (r.runs.some((run) => run.bn === 'none'))
    lines.push(
      'BN "none": the normalization never looks across examples, so no BN mode applies; its test accuracy needs no running statistics, and all three evaluations are one.',
    );
  if (r.settings.renormSchedule) {
    const s = r.settings.renormSchedule;
    lines.push(
      `batch-renorm: r_max 1 and d_max 0 for ${s.warmupSteps} steps, then linear to r_max ${s.rMax} at step ${s.rMaxSteps} and d_max ${s.dMax} at step ${s.dMaxSteps} (Ioffe 2017's warm-up${s.warmupSteps === 5000 && s.rMaxSteps === 40000 && s.dMaxSteps === 25000 ? '' : ', rescaled by --renorm-schedule'}).`,
    );
  }
  lines.push(
    `test acc uses ${r.settings.evalStats === 'average' ? 'the running statistics averaged over ranks (local BN)' : "rank 0's running statistics"}; precise BN recomputes them over ${r.settings.preciseBatches} training batches; batch stats normalizes each test chunk of the per-device batch size with its own statistics.`,
  );
  return lines.join('\n');
}
