/**
 * Checks of the options each experiment takes, run before it starts anything. A value of the
 * wrong type is refused here as an InputError naming the option, what it must be and what it got,
 * type included (see src/args.ts); a value of the right type goes on to the experiment's own
 * checks of ranges, names and relations between options, whose messages stay as they are.
 */
import { type FieldCheck, checkChoice, checkFields, checkObject, checkTensor, checkWhole, ofType } from '../args.js';
import { MAX_DEVICES } from '../cluster/cluster.js';
import { FAULT_KINDS } from '../cluster/protocol.js';

const devices = ofType.number(`a whole number from 1 to ${MAX_DEVICES}`);
const whole = ofType.number('a whole number');
const positive = ofType.number('a finite number > 0');
const finite = ofType.number('a finite number');
const name = (kind: string) => ofType.string(`the name of ${kind}`);
const algorithm = name('an all-reduce algorithm');
const stats = name('a statistics method');

/**
 * Checks the types of compareModes's options.
 *
 * @param options - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkCompareOptions(options: unknown): void {
  checkFields('options', options, {
    input: ofType.tensor,
    shape: ofType.numbers('a shape (an array of whole numbers)'),
    seed: whole,
    devices,
    modes: ofType.strings('an array of modes'),
    algorithm,
    stats,
    accumulator: name('an accumulator'),
    eps: positive,
    timeoutMs: positive,
    storage: name('a 16-bit format'),
  });
}

/**
 * Checks defaultModes's arguments: whole numbers, devices 1 to MAX_DEVICES and inner at least 1.
 *
 * @param devices - as the caller gave it.
 * @param rows - as the caller gave it.
 * @param inner - as the caller gave it.
 * @throws InputError naming the first argument out of range.
 */
export function checkDefaultModesArgs(devices: unknown, rows: unknown, inner: unknown): void {
  checkWhole('devices', devices, 1, MAX_DEVICES);
  checkWhole('rows', rows);
  checkWhole('inner', inner, 1);
}

/**
 * Checks the types of noiseExperiment's options.
 *
 * @param options - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkNoiseOptions(options: unknown): void {
  checkFields(
    'options',
    options,
    {
      batchSizes: ofType.numbers('an array of per-device batch sizes'),
      devices,
      trials: whole,
      dist: name('a distribution'),
      input: ofType.tensor,
      seed: whole,
      channels: whole,
      group: whole,
      algorithm,
      stats,
      signal: ofType.signal,
      onProgress: ofType.function,
    },
    ['batchSizes'],
  );
}

/**
 * Checks the types of precisionExperiment's options.
 *
 * @param options - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkPrecisionOptions(options: unknown): void {
  checkFields('options', options, {
    offset: finite,
    scale: positive,
    dtypes: ofType.strings('an array of dtypes'),
    rows: whole,
    channels: whole,
    devices,
    trials: whole,
    seed: whole,
    methods: ofType.strings('an array of method names'),
    eps: positive,
    timeoutMs: positive,
    signal: ofType.signal,
    onProgress: ofType.function,
  });
}

/**
 * Checks the types of costModel's options.
 *
 * @param options - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkCostOptions(options: unknown): void {
  checkFields('options', options, {
    devices: ofType.numbers('an array of device counts'),
    link: name('a link preset'),
    alpha: finite,
    beta: finite,
    gamma: finite,
    network: name('a network'),
    channels: ofType.numbers('an array of channel counts'),
    stats,
    bytesPerValue: ofType.number('4 or 8'),
    algorithms: ofType.strings('an array of algorithm names'),
  });
}

/**
 * Checks the types of benchmarkCluster's options.
 *
 * @param options - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkBenchOptions(options: unknown): void {
  checkFields('options', options, {
    shape: ofType.numbers('a shape (an array of whole numbers)'),
    devices,
    algorithm,
    reps: whole,
    allreduceReps: whole,
    startDevices: devices,
    startReps: whole,
    torch: ofType.boolean,
    peer: ofType.object,
    onProgress: ofType.function,
  });
}

/**
 * Checks the types of trainExperiment's options.
 *
 * @param options - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkTrainOptions(options: unknown): void {
  checkFields('options', options, {
    model: name('a model'),
    dataset: name('a dataset'),
    dataDir: ofType.string('a directory path'),
    subset: whole,
    devices,
    batch: whole,
    perDeviceBatches: ofType.numbers('an array of per-device batch sizes'),
    bn: ofType.strings('an array of BN modes'),
    norm: ofType.strings('an array of normalizations'),
    renormSchedule: ofType.object,
    epochs: whole,
    steps: whole,
    lr: positive,
    lrScaling: ofType.string('none or linear'),
    momentum: finite,
    weightDecay: finite,
    seed: whole,
    stats,
    algorithm,
    evalStats: ofType.string('rank0 or average'),
    preciseBatches: whole,
    timeoutMs: positive,
    signal: ofType.signal,
    onProgress: ofType.function,
    onEpoch: ofType.function,
  });
}

/**
 * Checks the types of loadRunInputs's paths: the input file, and optional per-channel files.
 *
 * @param paths - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkRunInputPaths(paths: unknown): void {
  const path = ofType.string('a file path');
  checkFields(
    'paths',
    paths,
    { input: path, gradOutput: path, weight: path, bias: path, runningMean: path, runningVar: path },
    ['input'],
  );
}

/**
 * Checks the types of runBatchNorm's and runOnCluster's inputs: tensors, the input required.
 *
 * @param inputs - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkRunInputs(inputs: unknown): void {
  const t = ofType.tensor;
  checkFields('inputs', inputs, { input: t, gradOutput: t, weight: t, bias: t, runningMean: t, runningVar: t }, [
    'input',
  ]);
}

/**
 * Checks the types of runOnCluster's spread of the run over devices.
 *
 * @param spread - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkClusterRunSettings(spread: unknown): void {
  checkFields(
    'spread',
    spread,
    {
      devices,
      mode: ofType.string('local, sync, group:K or ghost:G'),
      algorithm,
      timeoutMs: positive,
      fault: ((n, v) => {
        const fault = checkObject<Record<string, unknown>>(n, v);
        checkChoice(`${n}.kind`, fault.kind, FAULT_KINDS);
        checkWhole(`${n}.rank`, fault.rank);
      }) as FieldCheck,
    },
    ['devices'],
  );
}

/**
 * Checks the types of a report runBatchNorm or runOnCluster returned (what runOutputFiles and runStatsJson read).
 *
 * @param report - as the caller gave it.
 * @throws InputError naming the first field of the wrong type, what it must be and what it got.
 */
export function checkRunReport(report: unknown): void {
  const r = checkObject<Record<string, unknown>>('report', report);
  const result = checkObject<Record<string, unknown>>('report.result', r.result);
  checkTensor('report.result.output', result.output);
  checkObject('report.global', r.global);
  checkRunInputs(r.inputs);
  checkObject('report.settings', r.settings);
}
