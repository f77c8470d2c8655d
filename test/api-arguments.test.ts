/**
 * Every exported function refuses a bad argument with an InputError that names the argument and
 * what it got (its type too, when the type is wrong): a table of bad calls, export by export, over
 * the main entry and every subpath entry (syncbn-sim/tensor, /collectives, /nn, /train,
 * /experiments, /norm). No RangeError, TypeError or "got 8" for the string '8'.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../src/bn/batch-norm.js';
import { runStatsJson } from '../src/report/json/run-json.js';
import { runOutputFiles } from '../src/report/run-files.js';
import * as collectives from '../src/collectives/index.js';
import * as experiments from '../src/experiments/index.js';
import * as main from '../src/index.js';
import * as nn from '../src/nn/index.js';
import * as norm from '../src/norm/index.js';
import * as tensor from '../src/tensor/index.js';
import * as train from '../src/train/index.js';

/** Each package entry, by the name a caller imports it with. */
const ENTRIES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'syncbn-sim': main,
  'syncbn-sim/tensor': tensor,
  'syncbn-sim/collectives': collectives,
  'syncbn-sim/nn': nn,
  'syncbn-sim/train': train,
  'syncbn-sim/experiments': experiments,
  'syncbn-sim/norm': norm,
};
/** Every entry's exports, plus internal functions whose checks serve the CLI. */
const api = {
  ...main,
  ...tensor,
  ...collectives,
  ...nn,
  ...train,
  ...experiments,
  ...norm,
  resolveSettings,
  runOutputFiles,
  runStatsJson,
};
const { InputError } = api;
const x = new Float32Array([1, 2, 3, 4, 5, 6]);
const layout = { rows: 3, channels: 2, inner: 1 };
const t = { data: x, shape: [3, 2] };
const sums = api.sumStats(x, layout);
const welford = api.welfordStats(x, layout);
const moments = api.batchMoments(x, layout);
const stats2 = new Float64Array([1, 1]);
const ds = api.loadSynthetic({ train: 4, test: 2 }).train;
const nvlink = api.resolveLink('intra', {}, 'nvlink-a100');
const hdr = api.resolveLink('inter', {}, 'ib-hdr');
const pair = api.makeTopology(1, 2, undefined, nvlink, hdr);

// One cluster and one trainer of two devices serve every call that needs one.
const cluster = api.Cluster.start({ devices: 2 });
const trainer = new api.Trainer({
  model: { name: 'mlp', inputShape: [1, 28, 28], classes: 10 },
  devices: 2,
  bn: 'sync',
  optimizer: { lr: 0.1, momentum: 0, weightDecay: 0 },
  maxBatch: 8,
  seed: 0,
});
afterAll(async () => {
  await Promise.all([cluster.close(), trainer.close()]);
});

const bad = <T>(value: unknown) => value as T;

/** [export, the bad call, what the message must say]. */
const CASES: readonly [string, () => unknown, RegExp][] = [
  [
    'batchNorm',
    () => api.batchNorm(bad({ data: [1, 2, 3, 4], shape: [2, 2] })),
    /^input\.data must be a Float32Array or Float64Array, got an array of 4 numbers \[1, 2, 3, 4\]$/,
  ],
  [
    'batchNorm',
    () => api.batchNorm(bad({ data: new Int32Array(4), shape: [2, 2] })),
    /^input\.data must be a Float32Array or Float64Array, got an Int32Array of 4 elements$/,
  ],
  ['batchNorm', () => api.batchNorm(bad(undefined)), /^input must be an object, got undefined$/],
  ['batchNorm', () => api.batchNorm(t, bad('sync')), /^options must be an options object, got the string 'sync'$/],
  [
    'batchNorm',
    () => api.batchNorm(t, { momentum: bad('0.1') }),
    /^momentum must lie in \[0, 1\], got the string '0\.1'$/,
  ],
  [
    'batchNorm',
    () => api.batchNorm(t, { training: bad('yes') }),
    /^training must be true or false, got the string 'yes'$/,
  ],
  [
    'batchNorm',
    () => api.batchNorm(t, { weight: bad('ab') }),
    /^weight must be an array of 2 numbers, got the string 'ab'$/,
  ],
  [
    'batchNorm',
    () => api.batchNorm(t, { gradOutput: bad([1]) }),
    /^gradOutput must be an object, got an array of 1 number/,
  ],
  [
    'resolveSettings',
    () => api.resolveSettings({ stats: bad(1) }),
    /^stats must be one of sums, .*, got the number 1$/,
  ],
  [
    'batchMoments',
    () => api.batchMoments(bad([1, 2]), layout),
    /^x must be a Float32Array or Float64Array, got an array of 2 numbers/,
  ],
  [
    'batchMoments',
    () => api.batchMoments(x, layout, { method: bad('magic') }),
    /^method must be one of .*, got 'magic'$/,
  ],
  ['firstElementShift', () => api.firstElementShift(x, bad(undefined)), /^layout must be an object, got undefined$/],
  [
    'centeredSumSq',
    () => api.centeredSumSq(x, layout, new Float64Array(1)),
    /^mean must have shape \[2\], got 1 value$/,
  ],
  ['mergeSums', () => api.mergeSums(sums, bad(undefined)), /^b must be an object, got undefined$/],
  [
    'mergeWelford',
    () => api.mergeWelford({ ...welford, count: bad('3') }, welford),
    /^a\.count must be a whole number >= 0, got the string '3'$/,
  ],
  [
    'momentsFromSums',
    () => api.momentsFromSums({ ...sums, sum: bad([1, 2]) }),
    /^s\.sum must be a Float64Array, got an array of 2 numbers/,
  ],
  ['momentsFromWelford', () => api.momentsFromWelford(bad(null)), /^w must be an object, got null$/],
  [
    'sumStats',
    () => api.sumStats(x, layout, bad('float16')),
    /^accumulator must be one of float64, float32, got 'float16'$/,
  ],
  [
    'sumStats',
    () => api.sumStats(new Float32Array(5), layout),
    /^x has 5 elements but the layout \(3 rows, 2 channels, 1 inner\) needs 6$/,
  ],
  [
    'welfordStats',
    () => api.welfordStats(x, { ...layout, channels: bad('2') }),
    /^layout\.channels must be a whole number >= 0, got the string '2'$/,
  ],
  ['inverseStd', () => api.inverseStd(bad('1'), 1e-5), /^variance must be an array of numbers, got the string '1'$/],
  ['inverseStd', () => api.inverseStd([1], 0), /^eps must be a positive finite number, got 0$/],
  [
    'normalize',
    () => api.normalize(x, layout, stats2, stats2, undefined, undefined, new Float32Array(1)),
    /^out has 1 element but the layout .* needs 6$/,
  ],
  [
    'gradSums',
    () => api.gradSums(bad(undefined), x, layout, stats2, stats2),
    /^dy must be a Float32Array or Float64Array, got undefined$/,
  ],
  [
    'gradInputTrain',
    () =>
      api.gradInputTrain(
        x,
        x,
        layout,
        stats2,
        stats2,
        undefined,
        { sumDy: stats2, sumDyXhat: stats2 },
        bad('3'),
        new Float32Array(6),
      ),
    /^count must be a whole number >= 0, got the string '3'$/,
  ],
  [
    'gradTrain',
    () => api.gradTrain(x, x, layout, stats2, bad([1]), undefined, new Float32Array(6)),
    /^invStd must have shape \[2\], got 1 value/,
  ],
  [
    'forwardTrain',
    () => api.forwardTrain(x, layout, bad(0), undefined, undefined, new Float32Array(6)),
    /^eps must be a positive finite number, got 0$/,
  ],
  ['useKernels', () => api.useKernels(bad('gpu')), /kernels/],
  [
    'gradInputEval',
    () => api.gradInputEval(x, layout, stats2, bad('w'), new Float32Array(6)),
    /^weight must be an array of 2 numbers, got the string 'w'$/,
  ],
  [
    'updateRunningStats',
    () => api.updateRunningStats({ mean: [0, 0], var: [1, 1] }, moments, 2),
    /^momentum must lie in \[0, 1\], got 2$/,
  ],
  [
    'updateRunningStats',
    () => api.updateRunningStats({ mean: [0, 0], var: [1, 1] }, moments, 0.1, bad('tf')),
    /^convention must be one of pytorch, keras, got 'tf'$/,
  ],
  [
    'channelLayout',
    () => api.channelLayout(bad('2,3')),
    /^shape must be an array of whole numbers \(a shape\), got the string '2,3'$/,
  ],
  ['countPerChannel', () => api.countPerChannel(bad({})), /^layout\.rows must be a whole number >= 0, got undefined$/],
  ['dtypeOf', () => api.dtypeOf(bad([1])), /^data must be a Float32Array or Float64Array, got an array of 1 number/],
  [
    'encodeNpy',
    () => api.encodeNpy(bad({ data: [1], shape: [1] })),
    /^tensor\.data must be a Float32Array or Float64Array, got an array of 1 number/,
  ],
  ['encodeNpy', () => api.encodeNpy(t, bad(4)), /^version must be 1, 2 or 3, got 4$/],
  [
    'parseNpy',
    () => api.parseNpy(bad(undefined)),
    /^bytes must be a Uint8Array \(a \.npy file's contents\), got undefined$/,
  ],
  ['parseNpy', () => api.parseNpy(bad('abc')), /^bytes must be a Uint8Array .*, got the string 'abc'$/],
  ['readNpyFile', () => api.readNpyFile(bad(42)), /^path must be a non-empty string, got the number 42$/],
  ['loadRunInputs', () => api.loadRunInputs(bad({})), /^input is required, got undefined$/],
  ['loadRunInputs', () => api.loadRunInputs(bad({ input: 5 })), /^input must be a file path, got the number 5$/],
  [
    'runBatchNorm',
    () => api.runBatchNorm(bad({ input: [1] }), {}),
    /^input must be an object, got an array of 1 number/,
  ],
  ['runOutputFiles', () => api.runOutputFiles(bad({})), /^report\.result must be an object, got undefined$/],
  ['runStatsJson', () => api.runStatsJson(bad(undefined)), /^report must be an object, got undefined$/],
  [
    'runOnCluster',
    () => api.runOnCluster({ input: t }, {}, { devices: bad('2') }),
    /^devices must be a whole number from 1 to 4096, got the string '2'$/,
  ],
  [
    'Cluster.start',
    () => api.Cluster.start({ devices: bad('8') }),
    /^devices must be a whole number from 1 to 4096, got the string '8'$/,
  ],
  ['Cluster.start', () => api.Cluster.start(bad(undefined)), /^options must be an object, got undefined$/],
  [
    'Cluster.start',
    () => api.Cluster.start({ devices: 2, timeoutMs: bad('100') }),
    /^timeoutMs must be a positive finite number, got the string '100'$/,
  ],
  [
    'Cluster.start',
    () => api.Cluster.start({ devices: 2, fault: { kind: bad('explode'), rank: 0 } }),
    /^fault\.kind must be one of crash, hang, skip, got 'explode'$/,
  ],
  ['Cluster.sharedTensor', () => api.Cluster.sharedTensor([-1, 4]), /^shape\[0\] must be a whole number >= 0, got -1$/],
  [
    'Cluster.sharedTensor',
    () => api.Cluster.sharedTensor([2, 2], bad('int8')),
    /^dtype must be one of float32, float64, got 'int8'$/,
  ],
  [
    'cluster.forward',
    () => cluster.forward(bad({ data: [1, 2, 3, 4], shape: [2, 2] })),
    /^input\.data must be a Float32Array or Float64Array, got an array of 4 numbers/,
  ],
  [
    'cluster.forward',
    () => cluster.forward(t, { mode: bad(5) }),
    /^options\.mode must be 'local', 'sync', 'group:K', 'ghost:G' or a parsed mode, got the number 5$/,
  ],
  [
    'cluster.forward',
    () => cluster.forward(t, { output: bad(new Float32Array(6)) }),
    /^options\.output must be an object, got a Float32Array of 6 elements$/,
  ],
  ['cluster.backward', () => cluster.backward(bad('dy')), /^gradOutput must be an object, got the string 'dy'$/],
  [
    'cluster.benchmarkAllReduce',
    () => cluster.benchmarkAllReduce(bad('4'), 1),
    /^length must be a whole number >= 1, got the string '4'$/,
  ],
  [
    'cluster.setRunningStats',
    () => cluster.setRunningStats([0], bad('x')),
    /^variance must be an array of 1 number, got the string 'x'$/,
  ],
  ['modeName', () => api.modeName(bad('sync')), /^mode must be an object, got the string 'sync'$/],
  ['parseMode', () => api.parseMode(bad(3), 4), /^mode must be a non-empty string, got the number 3$/],
  ['parseMode', () => api.parseMode('sync', bad('4')), /^devices must be a whole number >= 1, got the string '4'$/],
  ['shardRows', () => api.shardRows(8, 4, 4), /^rank must be a whole number from 0 to 3, got 4$/],
  ['ghostChunks', () => api.ghostChunks(8, 0), /^size must be a whole number >= 1, got 0$/],
  [
    'algorithmByName',
    () => api.algorithmByName(bad('butterfly')),
    /^algorithm must be one of ring, .*, got 'butterfly'$/,
  ],
  [
    'compareModes',
    () => api.compareModes({ devices: bad('8') }),
    /^devices must be a whole number from 1 to 4096, got the string '8'$/,
  ],
  ['compareModes', () => api.compareModes(bad('x')), /^options must be an options object, got the string 'x'$/],
  ['defaultModes', () => api.defaultModes(0, 8, 1), /^devices must be a whole number from 1 to 4096, got 0$/],
  ['noiseExperiment', () => api.noiseExperiment(bad({})), /^batchSizes is required, got undefined$/],
  [
    'noiseExperiment',
    () => api.noiseExperiment({ batchSizes: bad('2,4') }),
    /^batchSizes must be an array of per-device batch sizes, got the string '2,4'$/,
  ],
  [
    'exactMoments',
    () => api.exactMoments(bad([1, 2]), { rows: 2, channels: 1, inner: 1 }),
    /^x must be a Float32Array or Float64Array, got an array of 2 numbers/,
  ],
  [
    'exactMoments',
    () => api.exactMoments(new Float32Array(5), layout),
    /^x has 5 elements but the layout \(3 rows, 2 channels, 1 inner\) needs 6$/,
  ],
  [
    'precisionExperiment',
    () => api.precisionExperiment({ rows: bad('8') }),
    /^rows must be a whole number, got the string '8'$/,
  ],
  [
    'halfCountRows',
    () => api.halfCountRows(bad('float16')),
    /^formats must be an array of names \(float16, bfloat16\), got the string 'float16'$/,
  ],
  [
    'groupNorm',
    () => api.groupNorm(t, { groups: bad('2') }),
    /^groups must be a whole number >= 1, got the string '2'$/,
  ],
  ['layerNorm', () => api.layerNorm(bad([1, 2])), /^input must be an object, got an array/],
  [
    'instanceNorm',
    () => api.instanceNorm({ data: x, shape: [3, 2] }, { eps: bad('1e-5') }),
    /^eps must be a positive finite number, got the string '1e-5'$/,
  ],
  [
    'batchRenorm',
    () => api.batchRenorm(t, { limits: bad({ rMax: 0.5, dMax: 0 }) }),
    /^limits\.rMax must be a finite number >= 1, got 0\.5$/,
  ],
  ['renormLimits', () => api.renormLimits(bad('10')), /^step must be a whole number >= 0, got the string '10'$/],
  [
    'filterResponseNorm',
    () => api.filterResponseNorm(t, { eps: bad(-1) }),
    /^eps must be a positive finite number, got -1$/,
  ],
  [
    'semanticsExperiment',
    () => api.semanticsExperiment({ dtype: bad(16) }),
    /^dtype must be one of float32, float64, float16, bfloat16, got the number 16$/,
  ],
  [
    'semanticsExperiment',
    () => api.semanticsExperiment({ frameworks: bad('pytorch') }),
    /^frameworks must be an array of names \(pytorch, .*\), got the string 'pytorch'$/,
  ],
  [
    'costModel',
    () => api.costModel({ devices: bad(8) }),
    /^devices must be an array of device counts, got the number 8$/,
  ],
  ['busFactor', () => api.busFactor('all-reduce', bad('8')), /^ranks must be a whole number >= 1, got the string '8'$/],
  [
    'collectiveTable',
    () => api.collectiveTable(pair, 'all-reduce', bad('64')),
    /^bytes must be a whole number >= 1, got the string '64'$/,
  ],
  [
    'pickFastest',
    () => api.pickFastest(pair, 0, bad('reduce'), 0, 2, 8),
    /^kind must be one of all-reduce, all-gather, got 'reduce'$/,
  ],
  ['bnCalls', () => api.bnCalls([4], bad('tf')), /^pattern must be one of pytorch, keras, fused, got 'tf'$/],
  [
    'iterationCost',
    () =>
      api.iterationCost({
        topology: pair,
        network: api.MODELS.resnet50,
        computeSeconds: bad('1'),
        pattern: 'pytorch',
        modes: ['sync'],
      }),
    /^computeSeconds must be a finite number >= 0, got the string '1'$/,
  ],
  [
    'computeSeconds',
    () => api.computeSeconds(api.MODELS.resnet50, bad('32'), 'a100', undefined),
    /^perGpuBatch must be a whole number >= 1, got the string '32'$/,
  ],
  [
    'simulateIteration',
    () =>
      api.simulateIteration({
        topology: pair,
        channels: [4],
        computeSeconds: 1e-3,
        pattern: 'pytorch',
        mode: 'sync',
        jitterSeconds: bad('1'),
      }),
    /^jitterSeconds must be a finite number >= 0, got the string '1'$/,
  ],
  [
    'flatTopology',
    () => api.flatTopology(bad('8'), nvlink),
    /^devices must be a whole number from 1 to 16777216, got the string '8'$/,
  ],
  [
    'makeTopology',
    () => api.makeTopology(bad(2.5), 8, undefined, nvlink, hdr),
    /^nodes must be a whole number from 1 to 65536, got 2.5$/,
  ],
  [
    'resolveLink',
    () => api.resolveLink('inter', { alpha: bad('1e-6') }, 'ib-hdr'),
    /^interAlpha must be a finite number >= 0, got the string '1e-6'$/,
  ],
  [
    'benchmarkCluster',
    () => api.benchmarkCluster({ torch: bad('no') }),
    /^torch must be true or false, got the string 'no'$/,
  ],
  [
    'BatchNormLayer',
    () => new api.BatchNormLayer(bad('4'), 0, {}),
    /^channels must be a whole number >= 1, got the string '4'$/,
  ],
  ['Linear', () => new api.Linear(bad('3'), 4), /^inFeatures must be a positive integer, got the string '3'$/],
  ['Conv2d', () => new api.Conv2d(1, 6, bad('5')), /^kernelSize must be a positive integer, got the string '5'$/],
  ['AvgPool2d', () => new api.AvgPool2d(bad('2')), /^kernelSize must be a positive integer, got the string '2'$/],
  ['MaxPool2d', () => new api.MaxPool2d(2, bad('2')), /^stride must be a positive integer, got the string '2'$/],
  [
    'ReLU',
    () => new api.ReLU().forward(bad([1, 2]), 1, [2], true),
    /^x must be a Float32Array, got an array of 2 numbers/,
  ],
  ['Sigmoid', () => new api.Sigmoid().backward(bad('dy')), /^dy must be a Float32Array, got the string 'dy'$/],
  [
    'Flatten',
    () => new api.Flatten().forward(bad(undefined), 1, [2], true),
    /^x must be a Float32Array, got undefined$/,
  ],
  [
    'Sequential',
    () => new api.Sequential(bad('layers'), [1]),
    /^layers must be an array of layers, got the string 'layers'$/,
  ],
  [
    'softmaxCrossEntropy',
    () => api.softmaxCrossEntropy(bad([0.5]), [0], 1, 1),
    /^logits must be a Float32Array, got an array of 1 number/,
  ],
  [
    'sgdStep',
    () => api.sgdStep(new Float32Array(1), new Float32Array(1), new Float32Array(1), { lr: bad('0.1') }, false),
    /^lr must be a finite number >= 0, got the string '0\.1'$/,
  ],
  [
    'buildModel',
    () => api.buildModel(bad({ name: 'resnet', inputShape: [1, 28, 28], classes: 10 }), {}),
    /^spec\.name must be one of mlp, lenet-bn, got 'resnet'$/,
  ],
  [
    'Trainer',
    () => new api.Trainer(bad({ model: { name: 'mlp', inputShape: [1, 4, 4], classes: 2 }, devices: '2' })),
    /^devices must be a whole number from 1 to 4096, got the string '2'$/,
  ],
  ['trainer.step', () => trainer.step(bad('8')), /^batch must be a whole number >= 0, got the string '8'$/],
  ['trainer.evaluate', () => trainer.evaluate(bad({}), 'running', { chunk: 4 }), /^set must come from sharedSet\(\)/],
  ['trainer.params', () => trainer.params(2), /^rank must be a whole number from 0 to 1, got 2$/],
  ['sharedSet', () => api.sharedSet(bad([1]), [0], 1), /^images must be a Float32Array, got an array of 1 number/],
  [
    'trainExperiment',
    () => api.trainExperiment({ epochs: bad('1') }),
    /^epochs must be a whole number, got the string '1'$/,
  ],
  [
    'loadFashionMnist',
    () => api.loadFashionMnist({ dataDir: bad(5) }),
    /^dataDir must be a directory path, got the number 5$/,
  ],
  [
    'loadSynthetic',
    () => api.loadSynthetic({ train: bad('10') }),
    /^train must be a whole number, got the string '10'$/,
  ],
  [
    'epochBatches',
    () => api.epochBatches(bad('10'), { batchSize: 2, devices: 1, seed: 0, epoch: 0 }),
    /^count must be a whole number >= 0, got the string '10'$/,
  ],
  [
    'gatherBatch',
    () => api.gatherBatch(ds, [0], bad([0]), new Uint8Array(1)),
    /^images must be a Float32Array, got an array of 1 number/,
  ],
  ['SeededRandom', () => new api.SeededRandom(bad('1')), /^seed must be an integer, got the string '1'$/],
  [
    'syntheticBatch',
    () => api.syntheticBatch(bad([2, 'a'])),
    /^shape\[1\] must be a whole number >= 0, got the string 'a'$/,
  ],
  [
    'syntheticGradient',
    () => api.syntheticGradient([2, 2], 0, bad('int8')),
    /^dtype must be one of float32, float64, got 'int8'$/,
  ],
  [
    'parseNpz',
    () => api.parseNpz(bad('nope')),
    /^bytes must be a Uint8Array \(an \.npz file's contents\), got the string 'nope'$/,
  ],
  ['readNpzFile', () => api.readNpzFile(bad(5)), /^path must be a non-empty string, got the number 5$/],
  [
    'capturedFromNpz',
    () => api.capturedFromNpz(bad({ arrays: [] }), 'a.npz'),
    /^contents\.arrays must be a Map of member names to arrays \(from parseNpz\), got an empty array$/,
  ],
  [
    'readCapturedActivations',
    () => api.readCapturedActivations(bad(5)),
    /^path must be a non-empty string, got the number 5$/,
  ],
  [
    'selectLayers',
    () => api.selectLayers(bad({ layers: 'all' }), ['a']),
    /^acts must be captured activations \(from readCapturedActivations\), got an object/,
  ],
  ['compareLayers', () => api.compareLayers({ acts: bad('x') }), /^acts must be an object, got the string 'x'$/],
  ['noiseLayers', () => api.noiseLayers(bad('x')), /^options must be an object, got the string 'x'$/],
  [
    'sweepExperiment',
    () => api.sweepExperiment({ perDeviceBatches: [2], seeds: bad('2') }),
    /^seeds must be a whole number from 1 to 100, got the string '2'$/,
  ],
];

describe('bad arguments to every export', () => {
  it.each(CASES.map(([name, call, message], i) => [`${name} #${i}`, call, message] as const))(
    '%s: InputError naming the argument',
    async (_name, call, message) => {
      let caught: unknown;
      try {
        await call();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InputError);
      expect((caught as Error).message).toMatch(message);
    },
  );

  // Error classes are thrown by the library, never called with user input; exitCodeOf takes
  // anything; kernelBackend and validationTable take no argument.
  const exempt = new Set(['exitCodeOf', 'kernelBackend', 'validationTable']);
  const isErrorClass = (value: unknown) => typeof value === 'function' && value.prototype instanceof Error;

  it.each(Object.keys(ENTRIES))('covers every exported function and class of %s', (entry) => {
    const covered = new Set(CASES.map(([name]) => name.split('.')[0]));
    covered.add('Cluster').add('Trainer');
    const callable = Object.entries(ENTRIES[entry])
      .filter(([name, value]) => typeof value === 'function' && !isErrorClass(value) && !exempt.has(name))
      .map(([name]) => name);
    expect(callable.filter((name) => !covered.has(name) && !covered.has(name.toLowerCase()))).toEqual([]);
  });
});
