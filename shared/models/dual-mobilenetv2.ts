// Dual-stream MobileNetV2 (e.g. B-mode + colour Doppler): one MobileNetV2-style stream per
// modality, fused by the same gated concatenation as the DDFN.
import * as tf from '@tensorflow/tfjs';
import { imageInput, mobileNetV2Stream } from './branches.js';
import { channelsOf, type ModelConfig } from './config.js';
import { gatedFusion, sigmoidHead } from './fusion.js';

export function buildDualMobileNetV2(cfg: ModelConfig): tf.LayersModel {
  if (cfg.modalities.length < 2) {
    throw new Error(`dual_mobilenetv2 needs two modalities; config has [${cfg.modalities.join(', ')}]`);
  }
  const inputs = cfg.modalities.map((m) => imageInput(m, cfg.inputSize, channelsOf(cfg, m)));
  const features = inputs.map((x, i) => mobileNetV2Stream(x, cfg.modalities[i]!, cfg.widthMultiplier));
  const out = sigmoidHead(gatedFusion(features), cfg.headUnits, cfg.dropout);
  return tf.model({ name: 'dual_mobilenetv2', inputs, outputs: out });
}
