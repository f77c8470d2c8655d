/**
 * Prints the cost model's validation table (docs/cost-validation.md) as Markdown: every published
 * measurement of src/cost/validation.ts beside the model's prediction. Run: npm run build, then
 * node dist/scripts/cost-validation.js.
 */
import { validationTable } from '../src/cost/validation.js';

const fmt = (metric: 'seconds' | 'busbw', v: number) =>
  metric === 'seconds' ? `${(v * 1e6).toFixed(2)} us` : `${(v / 1e9).toFixed(1)} GB/s busbw`;
const lines = ['| case | size | measured | predicted | miss | model picks | source |', '|---|---|---|---|---|---|---|'];
for (const r of validationTable()) {
  const m = r.measurement;
  const size = m.bytes >= 2 ** 20 ? `${m.bytes / 2 ** 20} MiB` : `${m.bytes} B`;
  lines.push(
    `| ${m.name} | ${size} | ${fmt(m.metric, m.measured)} | ${fmt(m.metric, r.predicted)} | ${(r.error * 100).toFixed(1)}% | ${r.algorithm} ${r.protocol} | ${m.source} |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
