// Per-modality image settings (study or site config): colour or grey, and how a multi-frame (cine)
// file becomes one model input.
import { z } from 'zod';

/**
 * - fixed:N   frame N (0-based)
 * - peak      the peak-enhancement frame: highest mean intensity inside the ROI (CEUS)
 * - mean      the mean over all frames
 * - sample:K  K frames sampled evenly (first to last), stacked as K grey channels
 */
export type FramePolicy =
  | { readonly kind: 'fixed'; readonly frame: number }
  | { readonly kind: 'peak' }
  | { readonly kind: 'mean' }
  | { readonly kind: 'sample'; readonly k: number };

export interface ModalitySettings {
  /** 'rgb' keeps three channels (colour Doppler); 'grey' converts colour images to luminance. */
  readonly channels: 'grey' | 'rgb';
  /** Required for multi-frame files; without it a multi-frame image is an error. */
  readonly frames?: FramePolicy;
}

const policyText = z
  .string()
  .trim()
  .transform((s, ctx): FramePolicy => {
    const m = /^(fixed|frame):(\d+)$/.exec(s) ?? /^(sample):(\d+)$/.exec(s);
    if (m) {
      const v = Number(m[2]);
      if (m[1] === 'sample') {
        if (v < 2 || v > 16) ctx.addIssue({ code: 'custom', message: `sample:K needs 2 <= K <= 16, got ${v}` });
        return { kind: 'sample', k: v };
      }
      return { kind: 'fixed', frame: v };
    }
    if (s === 'peak' || s === 'mean') return { kind: s };
    ctx.addIssue({ code: 'custom', message: `frame policy "${s}" is not one of fixed:N, peak, mean, sample:K` });
    return z.NEVER;
  });

export const framePolicySchema: z.ZodType<FramePolicy, unknown> = z.union([
  policyText,
  z.object({ kind: z.literal('fixed'), frame: z.number().int().min(0) }).strict(),
  z.object({ kind: z.literal('peak') }).strict(),
  z.object({ kind: z.literal('mean') }).strict(),
  z.object({ kind: z.literal('sample'), k: z.number().int().min(2).max(16) }).strict(),
]) as unknown as z.ZodType<FramePolicy, unknown>;

export const modalitySettingsSchema = z
  .object({
    channels: z.enum(['grey', 'gray', 'rgb']).default('grey').transform((c) => (c === 'gray' ? 'grey' : c)),
    frames: framePolicySchema.optional(),
  })
  .strict();

export const DEFAULT_SETTINGS: ModalitySettings = { channels: 'grey' };

/** Channels of the model input for a modality. */
export function inputChannels(s: ModalitySettings | undefined): number {
  if (s?.frames?.kind === 'sample') return s.frames.k;
  return s?.channels === 'rgb' ? 3 : 1;
}

export function describePolicy(p: FramePolicy): string {
  return p.kind === 'fixed' ? `fixed:${p.frame}` : p.kind === 'sample' ? `sample:${p.k}` : p.kind;
}

/** Parses `ceus=peak,cdus=rgb` style command-line lists into settings. */
export function parseSettingsList(text: string, into: Record<string, { channels?: string; frames?: string }> = {}, field: 'channels' | 'frames'): Record<string, { channels?: string; frames?: string }> {
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`"${part}": expected MODALITY=${field === 'frames' ? 'POLICY (fixed:N, peak, mean, sample:K)' : 'grey|rgb'}`);
    const m = part.slice(0, eq).trim().toLowerCase();
    into[m] = { ...into[m], [field]: part.slice(eq + 1).trim() };
  }
  return into;
}
