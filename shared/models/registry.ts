// Registry of model architectures: one line per architecture.
import type * as tf from '@tensorflow/tfjs';
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from './config.js';
import { buildDdfn } from './ddfn.js';
import { buildDualMobileNetV2 } from './dual-mobilenetv2.js';
import { initializeDeterministic } from './init.js';
import { buildSingleModality } from './single-modality.js';

interface Architecture {
  readonly description: string;
  /** The modalities the model reads, given the configured ones. */
  modalities(cfg: ModelConfig): string[];
  build(cfg: ModelConfig): tf.LayersModel;
}

const ARCHITECTURES: Record<string, Architecture> = {
  ddfn: { description: 'dual-modal fusion network: one conv branch per modality, gated fusion', modalities: (c) => c.modalities, build: buildDdfn },
  gsus_only: { description: 'DDFN branch + head on grayscale ultrasound only', modalities: () => ['gsus'], build: (c) => buildSingleModality(c, 'gsus') },
  ceus_only: { description: 'DDFN branch + head on contrast-enhanced ultrasound only', modalities: () => ['ceus'], build: (c) => buildSingleModality(c, 'ceus') },
  single_modality: { description: 'DDFN branch + head on the first configured modality', modalities: (c) => [c.modalities[0]!], build: (c) => buildSingleModality(c, c.modalities[0]!) },
  dual_mobilenetv2: { description: 'two MobileNetV2-style streams (inverted residuals, width multiplier), gated fusion', modalities: (c) => c.modalities, build: buildDualMobileNetV2 },
};

export function listModels(): { name: string; description: string }[] {
  return Object.entries(ARCHITECTURES).map(([name, a]) => ({ name, description: a.description }));
}

function architecture(name: string): Architecture {
  const a = ARCHITECTURES[name];
  if (!a) throw new Error(`unknown model "${name}"; known models: ${Object.keys(ARCHITECTURES).join(', ')}`);
  return a;
}

/** The image modalities (model inputs, in order) that a registered model reads under a config. */
export function modelModalities(name: string, cfg: ModelConfigInput | ModelConfig = {}): string[] {
  return architecture(name).modalities(parseModelConfig(cfg, `model "${name}" config`));
}

/**
 * Builds a registered model with deterministic initial weights (a function of cfg.seed and the
 * tensor names only). The config is validated; unknown names and bad fields throw.
 */
export function buildModel(name: string, cfg: ModelConfigInput | ModelConfig = {}): tf.LayersModel {
  const a = architecture(name);
  const parsed = parseModelConfig(cfg, `model "${name}" config`);
  const model = a.build(parsed);
  initializeDeterministic(model, parsed.seed);
  return model;
}

/** The modalities a built model expects, in input order (from its `<modality>_input` layer names). */
export function inputModalities(model: tf.LayersModel): string[] {
  return model.inputNames.map((n) => {
    if (!n.endsWith('_input')) throw new Error(`model input "${n}" is not named <modality>_input`);
    return n.slice(0, -'_input'.length);
  });
}
