// Eight simulated devices, driven step by step: sync BN equals single-device BN on the whole batch.
import { Cluster, batchNorm } from 'syncbn-sim';
import { syntheticBatch, syntheticGradient } from 'syncbn-sim/tensor';

const x = syntheticBatch([16, 4, 3, 3], 42); // [N, C, H, W] float32, seeded
const dy = syntheticGradient(x.shape, 43);

const cluster = Cluster.start({ devices: 8, algorithm: 'ring', stats: 'welford' });
try {
  const forward = await cluster.forward(x, { mode: 'sync' }); // or 'local', 'group:2', 'ghost:1'
  const backward = await cluster.backward(dy);

  const single = batchNorm(x, { gradOutput: dy, stats: 'welford' });
  let worst = 0;
  for (let i = 0; i < x.data.length; i++)
    worst = Math.max(worst, Math.abs(forward.output.data[i] - single.output.data[i]));
  console.log('max |sync - single| output:', worst);

  const d3 = forward.devices[3];
  console.log(
    'device 3 holds rows',
    d3.rows,
    'its own mean[0]',
    d3.local.mean[0].toFixed(4),
    'normalized with',
    d3.used.mean[0].toFixed(4),
  );
  console.log('forward traffic:', forward.comm.messages, 'messages,', forward.comm.bytes, 'bytes');
  console.log('backward traffic:', backward.comm.messages, 'messages,', backward.comm.bytes, 'bytes');
  console.log('running mean[0] on rank 0:', cluster.runningStats()[0].mean[0].toFixed(4));
} finally {
  await cluster.close(); // ends the device threads
}
