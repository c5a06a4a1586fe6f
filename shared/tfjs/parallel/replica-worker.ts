// Worker thread holding one model replica: receives the weights and its shard of each batch,
// returns the gradients of the shard's mean loss.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../models/registry.js';
import { reseedDropout } from '../../models/seeded-dropout.js';
import { selectBackend } from '../backend.js';
import type { FromReplica, ToReplica } from './protocol.js';
import { assignWeights, flatSize, flattenGradients, shardGradients, warmUp } from './shard-gradients.js';

if (!parentPort) throw new Error('replica-worker must run in a worker thread');
const port = parentPort;
let model: tf.LayersModel | undefined;

function reply(msg: FromReplica, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

port.on('message', async (msg: ToReplica) => {
  try {
    if (msg.type === 'close') {
      model?.dispose();
      port.close();
      return;
    }
    if (msg.type === 'boot') {
      const selected = await selectBackend(msg.backend);
      reply({ type: 'booted', backend: selected.name });
      return;
    }
    if (msg.type === 'init') {
      const selected = await selectBackend(msg.backend);
      model = buildModel(msg.model, msg.modelConfig);
      reply({ type: 'ready', backend: selected.name, weightCount: flatSize(model.weights), trainableCount: flatSize(model.trainableWeights) });
      return;
    }
    if (!model) throw new Error(`replica received a ${msg.type} before init`);
    const m = model;
    if (msg.type === 'warmup') {
      // The weights (batch-norm statistics included) are overwritten by the next step's.
      warmUp(m, msg.count);
      reply({ type: 'warm' });
      return;
    }
    assignWeights(m.weights, msg.weights);
    if (msg.type === 'predict') {
      const probs = tf.tidy(() => {
        const inputs = m.inputs.map((inp, i) => tf.tensor(msg.inputs[i]!, [msg.count, ...(inp.shape.slice(1) as number[])], 'float32'));
        return (m.predict(inputs) as tf.Tensor).reshape([msg.count]);
      });
      const values = new Float32Array(probs.dataSync() as Float32Array);
      probs.dispose();
      reply({ type: 'probs', values }, [values.buffer as ArrayBuffer]);
      return;
    }
    // the masks depend on the step and shard only, not on what this worker computed before
    reseedDropout(m, msg.dropoutSeed);
    let loss = 0;
    const grads = tf.tidy(() => {
      const inputs = m.inputs.map((inp, i) => tf.tensor(msg.inputs[i]!, [msg.count, ...(inp.shape.slice(1) as number[])], 'float32'));
      const labels = tf.tensor(msg.labels, [msg.count, 1], 'float32');
      const r = shardGradients(m, inputs, labels);
      loss = r.loss;
      return r.grads;
    });
    const flat = flattenGradients(grads);
    reply({ type: 'grads', loss, grads: flat }, [flat.buffer as ArrayBuffer]);
  } catch (err) {
    reply({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
});
