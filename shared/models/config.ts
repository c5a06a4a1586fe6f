// Model configuration shared by every architecture in the registry (validated with zod).
import { z } from 'zod';

/** Modality names are lowercase identifiers: gsus, ceus, bmus, cdus, ... */
export const ModalityName = z
  .string()
  .regex(/^[a-z][a-z0-9]*$/, 'modality names are lowercase letters and digits, e.g. "gsus"');

export const ModelConfigSchema = z
  .object({
    /** One image input per modality, in this order. */
    modalities: z.array(ModalityName).min(1).max(4).default(['gsus', 'ceus']),
    /** Square input side in pixels. */
    inputSize: z.number().int().min(16).max(1024).default(128),
    /** Image channels: one number for every modality (1 = grayscale, 3 = colour), or one per
     *  modality, e.g. {bmus: 1, cdus: 3} for B-mode beside colour Doppler; K for cine sampled as K frames. */
    channels: z.union([z.number().int().min(1).max(16), z.record(ModalityName, z.number().int().min(1).max(16))]).default(1),
    /** Filters of the conv stages of a DDFN branch (each stage: 3x3 conv, ReLU, 2x2 max-pool). */
    widths: z.array(z.number().int().min(1).max(512)).min(1).max(7).default([8, 16, 32, 48]),
    /** MobileNetV2 width multiplier (channel counts are scaled and rounded to multiples of 4). */
    widthMultiplier: z.number().positive().max(4).default(1),
    /** Units of the hidden dense layer of the classification head. */
    headUnits: z.number().int().min(1).max(1024).default(16),
    dropout: z.number().min(0).max(0.9).default(0.2),
    /** Seed of the deterministic initial weights (every site and the coordinator build the same model). */
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  })
  .strict();

export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

/** Channels of one modality's input under a config (1 when a per-modality map omits it). */
export function channelsOf(cfg: Pick<ModelConfig, 'channels'>, modality: string): number {
  return typeof cfg.channels === 'number' ? cfg.channels : (cfg.channels[modality] ?? 1);
}

/** Parses a model config; the error names every offending field. */
export function parseModelConfig(input: unknown, where = 'model config'): ModelConfig {
  const r = ModelConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new Error(`${where} is invalid:\n${lines.join('\n')}`);
  }
  if (new Set(r.data.modalities).size !== r.data.modalities.length) {
    throw new Error(`${where} is invalid:\n  modalities: duplicate modality in [${r.data.modalities.join(', ')}]`);
  }
  return r.data;
}
