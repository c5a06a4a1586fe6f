// Study-level differential-privacy settings (optional per study), validated with zod.
import { z } from 'zod';

export const DpConfigSchema = z.strictObject({
  /** L2 bound C on each site's update (model delta) per round. */
  clip: z.number().positive().finite(),
  /** σ: each site adds N(0, (σ·C)²) to every coordinate of its clipped update. */
  noiseMultiplier: z.number().positive().finite(),
  /** δ of the reported (ε, δ) guarantee. */
  delta: z.number().gt(0).lt(1).default(1e-5),
});
export type DpConfig = z.infer<typeof DpConfigSchema>;
