/**
 * One `compare` run on W devices, in a process of its own, for the scaling figures of
 * `npm run bench`: the compare job on its default batch scaled to 4 rows per device, its report
 * serialized as `--json` would, then the seconds it took and the process's peak resident memory
 * (worker threads included: they share the process).
 *
 * Usage: node dist/scripts/compare-footprint.js W [THREADS]   (prints one JSON object)
 */
import { compareModes } from '../src/experiments/compare.js';
import { compareJson } from '../src/report/json/compare-json.js';

const devices = Number(process.argv[2]);
const threads = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const t0 = performance.now();
const report = await compareModes({ devices, threads, shape: [4 * devices, 8, 4, 4] });
const json = JSON.stringify(compareJson(report));
const seconds = (performance.now() - t0) / 1000;
// maxRSS is in kilobytes.
console.log(
  JSON.stringify({ devices, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, jsonBytes: json.length }),
);
