// The strategies of a study: the configured rule for each model, wrapped by the study's
// cross-cutting rules (norm-outlier filter, DP accounting) in a fixed order.
import type { StudyConfig } from '../config/study.js';
import { createStrategy } from './registry.js';
import type { Strategy } from './types.js';
import { withSecureAggregation } from './secure-aggregation.js';
import { fedAvg } from './fedavg.js';
import { DpAccounting, withDpAccounting, withNormOutlierFilter } from './wrappers.js';

export interface StudyStrategies {
  readonly byModel: Map<string, Strategy>;
  /** Present when the study uses differential privacy. */
  readonly accounting: DpAccounting | null;
}

export function createStudyStrategies(
  study: Pick<StudyConfig, 'models' | 'strategy' | 'outlier_norm_factor' | 'dp' | 'sites' | 'min_sites'> & Partial<Pick<StudyConfig, 'id' | 'secure_aggregation' | 'round_deadline_s'>>,
): StudyStrategies {
  const accounting = study.dp ? new DpAccounting(study.dp) : null;
  const byModel = new Map<string, Strategy>();
  for (const m of study.models) {
    let s = createStrategy(study.strategy);
    s.validate({ expectedSites: study.sites?.length ?? study.min_sites, minSites: study.min_sites });
    if (study.outlier_norm_factor > 0) s = withNormOutlierFilter(s, study.outlier_norm_factor);
    const sa = study.secure_aggregation;
    if (sa?.enabled) {
      // Norm bounding becomes site-side clipping; the server then averages the (clipped) sum.
      const bound = study.strategy.name === 'norm_bounding' ? (study.strategy as { max_norm?: number }).max_norm : undefined;
      s = withSecureAggregation(bound !== undefined ? fedAvg() : s, {
        study: study.id ?? 'study', threshold: sa.threshold, quantization: sa.quantization,
        phaseDeadlineMs: Math.min(study.round_deadline_s ?? 600, 120) * 1000, ...(bound !== undefined ? { siteClipNorm: bound } : {}),
      });
    }
    if (accounting) s = withDpAccounting(s, accounting);
    byModel.set(m.name, s);
  }
  return { byModel, accounting };
}
