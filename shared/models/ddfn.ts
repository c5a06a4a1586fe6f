// DDFN: deep dual-modal fusion network, one conv branch per modality (e.g. GSUS and CEUS), gated
// concatenation fusion, sigmoid head.
import * as tf from '@tensorflow/tfjs';
import { convBranch, imageInput } from './branches.js';
import { channelsOf, type ModelConfig } from './config.js';
import { gatedFusion, sigmoidHead } from './fusion.js';

export function buildDdfn(cfg: ModelConfig): tf.LayersModel {
  if (cfg.modalities.length < 2) {
    throw new Error(`ddfn fuses two or more modalities; config has [${cfg.modalities.join(', ')}]`);
  }
  const inputs = cfg.modalities.map((m) => imageInput(m, cfg.inputSize, channelsOf(cfg, m)));
  const features = inputs.map((x, i) => convBranch(x, cfg.modalities[i]!, cfg.widths));
  const out = sigmoidHead(gatedFusion(features), cfg.headUnits, cfg.dropout);
  return tf.model({ name: 'ddfn', inputs, outputs: out });
}
