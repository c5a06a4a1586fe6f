// The study configs of `fl demo --study NAME` (issue 16 item 4): each mirrors its seed paper
// (/work/shared/seeds) on `fl synth --study NAME` data. ddfn is today's default demo.
import { STUDY_PROFILES, type StudyName } from '../../shared/synth/clinical.js';

export interface DemoStudy {
  readonly title: string;
  /** Model entries of study.yaml (image models get inputSize/seed added by the demo). */
  readonly models: (size: number, seed: number, o: DemoSizes) => Record<string, unknown>[];
  /** Endpoint words of the study (outcome, population, levels, subgroups). */
  readonly endpoint: Record<string, unknown>;
  /** Manifest columns beyond the clinical ones the site lets tabular models read (site.yaml tabular_columns). */
  readonly tabularColumns: readonly string[];
  /** The reference model of the comparisons. */
  readonly reference: string;
}

/** Small settings for tests: fewer lambdas and trees. */
export interface DemoSizes { readonly nlambda: number; readonly folds: number; readonly trees: number }

const CLINICAL = ['age', 'tumor_size_mm', 'ki67'];
const HER2 = { name: 'her2', type: 'categorical', levels: ['negative', 'positive'] };
const ER = { name: 'er', type: 'categorical', levels: ['negative', 'positive'] };
const RADIOMICS_FEATURES = ['stat_mean', 'stat_var', 'stat_skew', 'stat_p10', 'stat_p90', 'morph2d_area', 'morph2d_perimeter', 'cm_contrast', 'cm_energy', 'cm_corr', 'cm_joint_entr'];
const lasso = (s: DemoSizes) => ({ icc_min: 0.75, pearson_max: 0.9, lasso: { folds: s.folds, rule: 'min', nlambda: s.nlambda } });
const radiomics = (modality: string, regions: string[]) => ({ modality, regions, features: RADIOMICS_FEATURES });
const KI67_SUBGROUPS = [{ name: 'ki67_high', column: 'ki67', when: '>= 14' }, { name: 'ki67_low', column: 'ki67', when: '< 14' }];

export const DEMO_STUDIES: Readonly<Record<Exclude<StudyName, 'ddfn'>, DemoStudy>> = {
  // Seed 001: dual-stream MobileNetV2 on B-mode + colour Doppler; handcrafted features of the
  // lesion and its surrounding area (the ROI box around it) with ICC / Pearson / LASSO; deep
  // features of the network reduced by PCA; only_hf, only_df and comb compared by AUC and NPV.
  comb: {
    title: STUDY_PROFILES.comb.title,
    reference: 'comb',
    tabularColumns: [],
    endpoint: { outcome: { column: 'label', positive_when: '== 1' } },
    models: (size, seed, s) => [
      { name: 'dual_mnv2', architecture: 'dual_mobilenetv2', config: { modalities: ['bmus', 'cdus'], channels: { bmus: 1, cdus: 3 }, inputSize: size, widthMultiplier: 0.35, seed } },
      { name: 'only_hf', family: 'lasso_logistic', inputs: { radiomics: radiomics('bmus', ['lesion', 'roi']) }, selection: lasso(s) },
      { name: 'only_df', family: 'logistic', inputs: { deep_features: { model: 'dual_mnv2', components: 3 } } },
      { name: 'comb', family: 'logistic', inputs: { scores: ['only_hf'], deep_features: { model: 'dual_mnv2', components: 3 } } },
    ],
  },
  // Seed 002: non-sentinel-node metastasis among patients with 1-2 positive SLN; clinical model c,
  // + axillary ultrasound ca, + radiomics car; calibration and decision curves; subgroups.
  car: {
    title: STUDY_PROFILES.car.title,
    reference: 'car',
    tabularColumns: ['her2', 'lvi', 'aus_suspicious', 'n_positive_sln', 'nsln_positive'],
    endpoint: {
      outcome: { column: 'nsln_positive', positive_when: '>= 1' },
      population: { column: 'n_positive_sln', between: [1, 2] },
      subgroups: [...KI67_SUBGROUPS, { name: 'her2_positive', column: 'her2', when: '== positive' }, { name: 'her2_negative', column: 'her2', when: '== negative' }],
    },
    models: (_size, _seed, s) => [
      { name: 'radscore', family: 'lasso_logistic', inputs: { radiomics: radiomics('gsus', ['lesion']) }, selection: lasso(s) },
      { name: 'c', family: 'logistic', inputs: { columns: [...CLINICAL, { name: 'lvi', type: 'binary' }] } },
      { name: 'ca', family: 'logistic', inputs: { columns: [...CLINICAL, { name: 'lvi', type: 'binary' }, { name: 'aus_suspicious', type: 'binary' }] } },
      { name: 'car', family: 'logistic', inputs: { columns: [...CLINICAL, { name: 'lvi', type: 'binary' }, { name: 'aus_suspicious', type: 'binary' }], scores: ['radscore'] } },
    ],
  },
  // Seed 003: radiomics + clinical; endpoints ALN metastasis and low (1-2) vs high (>= 3) burden
  // among N+; logistic LASSO and gradient-boosted trees compared at each.
  'radiomics-ml': {
    title: STUDY_PROFILES['radiomics-ml'].title,
    reference: 'lasso_aln',
    tabularColumns: ['er', 'her2', 'aus_suspicious'],
    endpoint: {
      levels: [
        { name: 'aln', title: 'ALN metastasis (N+ vs N0)', outcome: { column: 'n_positive_nodes', positive_when: '>= 1' } },
        { name: 'burden', title: 'High (>= 3) vs low (1-2) nodal burden among N+', outcome: { column: 'n_positive_nodes', positive_when: '>= 3' } },
      ],
    },
    models: (_size, _seed, s) => (['aln', 'burden'] as const).flatMap((level) => [
      { name: `lasso_${level}`, family: 'lasso_logistic', level, inputs: { columns: [...CLINICAL, { name: 'aus_suspicious', type: 'binary' }, HER2, ER], radiomics: radiomics('gsus', ['lesion']) }, selection: lasso(s) },
      { name: `gbdt_${level}`, family: 'gbdt', level, inputs: { columns: [...CLINICAL, 'aus_suspicious'], radiomics: radiomics('gsus', ['lesion']) }, gbdt: { rounds: s.trees, max_depth: 2, learning_rate: 0.1 } },
    ]),
  },
  // Seed 004: hierarchical endpoint (N0 vs N+; N1-2 vs N>=3 among N+); a radiomics model and a
  // combined model with the ALN morphologic class and Ki-67 at each level; Ki-67 subgroups.
  'nodal-burden': {
    title: STUDY_PROFILES['nodal-burden'].title,
    reference: 'combined_n0',
    tabularColumns: ['aln_class'],
    endpoint: {
      levels: [
        { name: 'n0_vs_nplus', title: 'N0 vs N+', outcome: { column: 'n_positive_nodes', positive_when: '>= 1' } },
        { name: 'low_vs_high', title: 'N1-2 vs N>=3 among N+', outcome: { column: 'n_positive_nodes', positive_when: '>= 3' } },
      ],
      subgroups: KI67_SUBGROUPS,
    },
    models: (_size, _seed, s) => ([['n0', 'n0_vs_nplus'], ['high', 'low_vs_high']] as const).flatMap(([k, level]) => [
      { name: `radiomics_${k}`, family: 'lasso_logistic', level, inputs: { radiomics: radiomics('gsus', ['lesion']) }, selection: lasso(s) },
      { name: `combined_${k}`, family: 'logistic', level, inputs: { columns: ['aln_class', 'ki67'], scores: [`radiomics_${k}`] } },
    ]),
  },
};
