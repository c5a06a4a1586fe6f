// Clinical variables of the seed studies (issue 16 item 4), drawn per case from one latent nodal
// risk so that they are associated the way the papers describe: larger tumours, higher Ki-67,
// HER2 positivity, lymphovascular invasion and suspicious axillary ultrasound go with more
// positive nodes. The abstracts give no prevalence; the targets below are typical of the cited
// populations (cN0 T1-2 breast cancer: about 30% SLN metastasis; of N+ about 30% with >= 3
// positive nodes; with 1-2 positive SLN about 30% non-sentinel-node metastasis) and are stated
// in `STUDY_PROFILES` so a reader can change them.
import type { Rng } from './rng.js';

export const STUDY_NAMES = ['ddfn', 'comb', 'car', 'radiomics-ml', 'nodal-burden'] as const;
export type StudyName = (typeof STUDY_NAMES)[number];

export interface StudyProfile {
  readonly title: string;
  /** Seed file the study follows. */
  readonly seed: string;
  /** P(N+) in the population. */
  readonly nodePositive: number;
  /** P(>= 3 positive nodes | N+). */
  readonly highBurden: number;
  /** Image pair of the demo. */
  readonly pair: 'gsus-ceus' | 'bmus-cdus';
  /** Column whose positivity the images show (the study's primary outcome). */
  readonly imageOutcome: 'sln' | 'nsln' | 'aln';
  /**
   * Extra image evidence of a high nodal burden (>= 3 positive nodes), in units of the separation d:
   * the evidence scores of such a case are centred at d*(1 + burdenEvidence) instead of d, so the
   * nodes look more suspicious (rounder, thicker cortex, more perfusion defects) - what the burden
   * studies' radiomics models pick up. 0 for studies whose images carry only the primary outcome.
   */
  readonly burdenEvidence: number;
}

export const STUDY_PROFILES: Readonly<Record<StudyName, StudyProfile>> = {
  ddfn: { title: 'SLN metastasis from multimodal ultrasound of sentinel nodes (DDFN)', seed: '000', nodePositive: 0.3, highBurden: 0.3, pair: 'gsus-ceus', imageOutcome: 'sln', burdenEvidence: 0 },
  comb: { title: 'SLN metastasis from B-mode + colour Doppler: handcrafted, deep and combined features', seed: '001', nodePositive: 0.35, highBurden: 0.3, pair: 'bmus-cdus', imageOutcome: 'sln', burdenEvidence: 0 },
  car: { title: 'Non-sentinel-node metastasis with 1-2 positive SLN: clinical, + AUS, + radiomics', seed: '002', nodePositive: 0.45, highBurden: 0.3, pair: 'gsus-ceus', imageOutcome: 'nsln', burdenEvidence: 0 },
  'radiomics-ml': { title: 'ALN metastasis and burden from ultrasound radiomics + clinical (LASSO vs GBDT)', seed: '003', nodePositive: 0.38, highBurden: 0.32, pair: 'gsus-ceus', imageOutcome: 'aln', burdenEvidence: 0.8 },
  'nodal-burden': { title: 'Hierarchical nodal burden: N0 vs N+, then N1-2 vs N>=3', seed: '004', nodePositive: 0.4, highBurden: 0.33, pair: 'gsus-ceus', imageOutcome: 'aln', burdenEvidence: 0.8 },
};

/** Extra manifest columns a study's synthetic data carries (after the default ones). */
export const STUDY_CLINICAL_COLUMNS = ['er', 'pr', 'her2', 'lvi', 'histology', 'aus_suspicious', 'aln_class', 'n_positive_sln', 'nsln_positive'] as const;

export interface ClinicalCase {
  readonly age: number;
  readonly tumor_size_mm: number;
  readonly ki67: number;
  /** Total positive axillary nodes (0 = N0). */
  readonly n_positive_nodes: number;
  readonly er: 'positive' | 'negative';
  readonly pr: 'positive' | 'negative';
  readonly her2: 'positive' | 'negative';
  readonly lvi: 0 | 1;
  readonly histology: 'IDC' | 'ILC' | 'other';
  /** Axillary ultrasound reported suspicious. */
  readonly aus_suspicious: 0 | 1;
  /** ALN morphologic class 1-4 (1 normal ... 4 cortex replaced), from the node's ultrasound. */
  readonly aln_class: 1 | 2 | 3 | 4;
  readonly n_positive_sln: number;
  /** Count of positive non-sentinel nodes. */
  readonly nsln_positive: number;
  /** The outcome the images show (0/1). */
  readonly label: 0 | 1;
}

const expit = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** One case of a study, from its own random stream (prevalence `prevalenceShift` moves N+ on the logit scale per site). */
export function drawClinicalCase(study: StudyName, rng: Rng, prevalenceShift = 0): ClinicalCase {
  const p = STUDY_PROFILES[study];
  const risk = rng.normal(); // latent nodal risk
  // N+ with probability nodePositive on average (logistic in the latent risk; the 1.7 slope gives
  // an AUC of about 0.8 for the risk alone).
  const pos = rng.bernoulli(expit(logit(p.nodePositive) + prevalenceShift + 1.7 * risk - 0.35));
  const high = pos && rng.bernoulli(expit(logit(p.highBurden) + 1.2 * risk - 1.05));
  let nodes = 0;
  if (pos) nodes = high ? 3 + Math.floor(-Math.log(1 - rng.next()) * 2.5) : 1 + (rng.bernoulli(0.4) ? 1 : 0);
  // Sentinel nodes hold most positive nodes: 1-3 SLN removed, NSLN the rest.
  const slnRemoved = 1 + Math.floor(rng.next() * 3);
  const nSln = Math.min(nodes, slnRemoved + (nodes > slnRemoved && rng.bernoulli(0.3) ? 1 : 0));
  const nsln = nodes - nSln;
  const age = Math.round(clamp(rng.normal(53 - 1.5 * risk, 10.5), 24, 88));
  const size = Math.round(clamp(Math.exp(rng.normal(Math.log(19) + 0.2 * risk + 0.1 * nodes / 3, 0.38)), 4, 50) * 10) / 10;
  const ki67 = Math.round(clamp(Math.exp(rng.normal(Math.log(20) + 0.25 * risk, 0.65)), 1, 95));
  const er = rng.bernoulli(0.76) ? 'positive' : 'negative';
  const pr = er === 'positive' ? (rng.bernoulli(0.85) ? 'positive' : 'negative') : (rng.bernoulli(0.1) ? 'positive' : 'negative');
  const her2 = rng.bernoulli(expit(logit(0.18) + 0.3 * risk)) ? 'positive' : 'negative';
  const lvi = rng.bernoulli(expit(-1.6 + 1.1 * (pos ? 1 : 0) + 0.5 * risk)) ? 1 : 0;
  const u = rng.next();
  const histology = u < 0.84 ? 'IDC' : u < 0.93 ? 'ILC' : 'other';
  // Axillary ultrasound: sensitivity ~0.55 for N+, ~0.8 for >= 3 nodes; specificity ~0.88.
  const aus = rng.bernoulli(nodes === 0 ? 0.12 : nodes >= 3 ? 0.8 : 0.5) ? 1 : 0;
  const cls = clamp(Math.round(1 + (nodes === 0 ? 0.4 : nodes >= 3 ? 2.1 : 1.2) + rng.normal(0, 0.7)), 1, 4) as 1 | 2 | 3 | 4;
  const label: 0 | 1 = p.imageOutcome === 'nsln' ? (nsln > 0 ? 1 : 0) : nodes > 0 ? 1 : 0;
  return { age, tumor_size_mm: size, ki67, n_positive_nodes: nodes, er, pr, her2, lvi, histology, aus_suspicious: aus, aln_class: cls, n_positive_sln: nSln, nsln_positive: nsln, label };
}
