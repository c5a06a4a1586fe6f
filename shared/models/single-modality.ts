// Single-modality baseline: the DDFN branch, gate and head on one modality (gsus_only, ceus_only, ...).
import * as tf from '@tensorflow/tfjs';
import { convBranch, imageInput } from './branches.js';
import { channelsOf, type ModelConfig } from './config.js';
import { gatedFusion, sigmoidHead } from './fusion.js';

export function buildSingleModality(cfg: ModelConfig, modality: string): tf.LayersModel {
  const input = imageInput(modality, cfg.inputSize, channelsOf(cfg, modality));
  const features = convBranch(input, modality, cfg.widths);
  const out = sigmoidHead(gatedFusion([features]), cfg.headUnits, cfg.dropout);
  return tf.model({ name: `${modality}_only`, inputs: [input], outputs: out });
}
