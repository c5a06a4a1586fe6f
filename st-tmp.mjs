// usage: node steptime.mjs DISTROOT  -> min and median single-replica step ms over N steps
import * as tf from '@tensorflow/tfjs';
const root = process.argv[2];
const { selectBackend } = await import(root + '/shared/tfjs/backend.js');
const { buildModel } = await import(root + '/shared/models/registry.js');
const { shardGradients } = await import(root + '/shared/tfjs/parallel/shard-gradients.js');
await selectBackend('wasm');
const model = buildModel('ddfn', { inputSize: 128 });
const B = 16;
const xs = model.inputs.map((inp) => tf.randomUniform([B, ...inp.shape.slice(1)]));
const y = tf.tensor2d(Array.from({ length: B }, (_, i) => [i % 2]));
const opt = tf.train.adam(1e-3);
const vars = model.trainableWeights;
function step() {
  const r = tf.tidy(() => shardGradients(model, xs, y).grads);
  const named = {};
  vars.forEach((v, i) => { named[v.val.name] = r[i]; });
  opt.applyGradients(named);
  tf.dispose(r);
}
for (let i = 0; i < 2; i++) step();
const ts = [];
for (let i = 0; i < Number(process.argv[3] ?? 8); i++) { const t0 = performance.now(); step(); ts.push(performance.now() - t0); }
ts.sort((a, b) => a - b);
console.log(JSON.stringify({ min: +ts[0].toFixed(1), median: +ts[ts.length >> 1].toFixed(1) }));
