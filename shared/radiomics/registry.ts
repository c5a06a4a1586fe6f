// Every feature: its name (<family>_<short>, the column name part, e.g. cm_contrast), family, IBSI identifier and a
// one-line definition. 2D morphology has no IBSI identifiers (IBSI defines 3D morphology only);
// its names end in the short name, and the definitions follow PyRadiomics' shape2D where IBSI is silent.

export const FAMILIES = ['stat', 'ih', 'morph2d', 'cm', 'rlm', 'szm', 'dzm', 'ngt', 'ngl'] as const;
export type Family = (typeof FAMILIES)[number];

export interface FeatureInfo {
  /** Column name part, e.g. "cm_contrast" (the IBSI identifier is `ibsi`). */
  readonly name: string;
  readonly family: Family;
  /** IBSI permanent identifier ("" for 2D morphology). */
  readonly ibsi: string;
  readonly definition: string;
}

export const FAMILY_TITLES: Record<Family, string> = {
  stat: 'intensity statistics (image intensities)',
  ih: 'intensity histogram (discretised grey levels)',
  morph2d: '2D morphology (mm, from the mask)',
  cm: 'grey level co-occurrence matrix (GLCM)',
  rlm: 'grey level run length matrix (GLRLM)',
  szm: 'grey level size zone matrix (GLSZM)',
  dzm: 'grey level distance zone matrix (GLDZM)',
  ngt: 'neighbourhood grey tone difference matrix (NGTDM)',
  ngl: 'neighbouring grey level dependence matrix (NGLDM)',
};

type Row = readonly [short: string, ibsi: string, definition: string];

const ORDER: Row[] = [
  ['mean', '', 'mean'],
  ['var', '', 'variance (1/N)'],
  ['skew', '', 'skewness m3 / m2^1.5 (NaN for a constant region)'],
  ['kurt', '', 'excess kurtosis m4 / m2^2 - 3 (NaN for a constant region)'],
  ['median', '', 'median'],
  ['min', '', 'minimum'],
  ['p10', '', '10th percentile (linear interpolation, R type 7)'],
  ['p90', '', '90th percentile (linear interpolation, R type 7)'],
  ['max', '', 'maximum'],
];
const SPREAD: Row[] = [
  ['iqr', '', 'interquartile range P75 - P25'],
  ['range', '', 'maximum - minimum'],
  ['mad', '', 'mean absolute deviation from the mean'],
  ['rmad', '', 'robust mean absolute deviation: of the values in [P10, P90] from their mean'],
  ['medad', '', 'mean absolute deviation from the median'],
  ['cov', '', 'coefficient of variation sd / mean (NaN when the mean is 0)'],
  ['qcod', '', 'quartile coefficient of dispersion (P75 - P25) / (P75 + P25)'],
];
const withIds = (rows: Row[], ids: string[]): Row[] => rows.map((r, k) => [r[0], ids[k]!, r[2]]);

const STAT: Row[] = [
  ...withIds([...ORDER, ...SPREAD], ['Q4LE', 'ECT3', 'KE2A', 'IPH6', 'Y12H', '1GSF', 'QG58', '8DWT', '84IY', 'SALO', '2OJQ', '4FUA', '1128', 'N72L', '7TET', '9S40']),
  ['energy', 'N8CA', 'sum of squared intensities'],
  ['rms', '5ZWQ', 'root mean square intensity'],
];

const IH: Row[] = [
  ...withIds(ORDER, ['X6K6', 'CH89', '88K1', 'C3I7', 'WIFQ', '1PR8', 'GPMT', 'OZ0C', '3NCY']),
  ['mode', 'AMMC', 'most frequent grey level (ties: the one closest to the mean)'],
  ...withIds(SPREAD, ['WR0O', '5Z3W', 'D2ZX', 'WRZB', '4RNL', 'CWYJ', 'SLWD']),
  ['entropy', 'TLU2', 'entropy -sum p log2 p of the grey level histogram'],
  ['uniformity', 'BJ5W', 'uniformity sum p^2'],
  ['max_grad', '12CE', 'largest histogram gradient (counts; central differences, one-sided at the ends)'],
  ['max_grad_g', '8E6O', 'grey level of the largest histogram gradient'],
  ['min_grad', 'VQB3', 'smallest histogram gradient'],
  ['min_grad_g', 'RHQZ', 'grey level of the smallest histogram gradient'],
];

const MORPH: Row[] = [
  ['area', '', 'area inside the marching-squares contour (mm^2)'],
  ['pixel_area', '', 'number of pixels x pixel area (mm^2)'],
  ['perimeter', '', 'length of the marching-squares contour (mm)'],
  ['perimeter_area_ratio', '', 'perimeter / area (1/mm)'],
  ['sphericity', '', '2D sphericity 2 sqrt(pi area) / perimeter (1 for a disc)'],
  ['circularity', '', 'circularity 4 pi area / perimeter^2'],
  ['max_diameter', '', 'largest distance between two contour points (mm)'],
  ['major_axis', '', 'major axis length 4 sqrt(lambda1) of the pixel-centre covariance (mm)'],
  ['minor_axis', '', 'minor axis length 4 sqrt(lambda2) (mm)'],
  ['elongation', '', 'elongation sqrt(lambda2 / lambda1)'],
  ['convex_area', '', 'area of the convex hull of the contour (mm^2)'],
  ['area_density', '', 'area density: area / convex hull area'],
  ['perimeter_density', '', 'perimeter density: convex hull perimeter / perimeter'],
];

const CM: Row[] = [
  ['joint_max', 'GYBY', 'joint maximum max p(i,j)'],
  ['joint_avg', '60VM', 'joint average sum i p(i,j)'],
  ['joint_var', 'UR99', 'joint variance sum (i - mu)^2 p(i,j)'],
  ['joint_entr', 'TU9B', 'joint entropy -sum p log2 p'],
  ['diff_avg', 'TF7R', 'difference average sum k p(i-j = k)'],
  ['diff_var', 'D3YU', 'difference variance'],
  ['diff_entr', 'NTRS', 'difference entropy'],
  ['sum_avg', 'ZGXS', 'sum average sum k p(i+j = k)'],
  ['sum_var', 'OEEB', 'sum variance'],
  ['sum_entr', 'P6QZ', 'sum entropy'],
  ['energy', '8ZQL', 'angular second moment sum p^2'],
  ['contrast', 'ACUI', 'contrast sum (i-j)^2 p'],
  ['dissimilarity', '8S9J', 'dissimilarity sum |i-j| p'],
  ['inv_diff', 'IB1Z', 'inverse difference sum p / (1 + |i-j|)'],
  ['inv_diff_norm', 'NDRX', 'normalised inverse difference sum p / (1 + |i-j| / Ng)'],
  ['inv_diff_mom', 'WF0Z', 'inverse difference moment sum p / (1 + (i-j)^2)'],
  ['inv_diff_mom_norm', '1QCO', 'normalised inverse difference moment sum p / (1 + (i-j)^2 / Ng^2)'],
  ['inv_var', 'E8JP', 'inverse variance sum over k > 0 of p(|i-j| = k) / k^2'],
  ['corr', 'NI2N', 'correlation (NaN when the marginal variance is 0)'],
  ['auto_corr', 'QWB0', 'autocorrelation sum i j p'],
  ['clust_tend', 'DG8W', 'cluster tendency sum (i + j - 2 mu)^2 p'],
  ['clust_shade', '7NFM', 'cluster shade sum (i + j - 2 mu)^3 p'],
  ['clust_prom', 'AE86', 'cluster prominence sum (i + j - 2 mu)^4 p'],
  ['info_corr1', 'R8DG', 'information correlation 1 (HXY - HXY1) / HX (NaN when HX = 0)'],
  ['info_corr2', 'JN9H', 'information correlation 2 sqrt(1 - exp(-2 (HXY2 - HXY)))'],
];

const zoneRows = (j: string, jn: string, what: string, ids: string[], perc: string): Row[] =>
  withIds(
    [
      [`s${j}e`, '', `short/small ${what} emphasis sum m / j^2 / Ns`],
      [`l${j}e`, '', `long/large ${what} emphasis sum m j^2 / Ns`],
      [`lg${j === 'r' ? 'r' : 'z'}e`, '', 'low grey level emphasis sum m / i^2 / Ns'],
      [`hg${j === 'r' ? 'r' : 'z'}e`, '', 'high grey level emphasis sum m i^2 / Ns'],
      [`s${j}lge`, '', `small ${what} low grey level emphasis sum m / (i^2 j^2) / Ns`],
      [`s${j}hge`, '', `small ${what} high grey level emphasis sum m i^2 / j^2 / Ns`],
      [`l${j}lge`, '', `large ${what} low grey level emphasis sum m j^2 / i^2 / Ns`],
      [`l${j}hge`, '', `large ${what} high grey level emphasis sum m i^2 j^2 / Ns`],
      ['glnu', '', 'grey level non-uniformity sum_i (sum_j m)^2 / Ns'],
      ['glnu_norm', '', 'normalised grey level non-uniformity / Ns^2'],
      [`${jn}nu`, '', `${what} non-uniformity sum_j (sum_i m)^2 / Ns`],
      [`${jn}nu_norm`, '', `normalised ${what} non-uniformity / Ns^2`],
      [perc, '', `${what === 'run length' ? 'run' : 'zone'} percentage Ns / number of pixels`],
      ['gl_var', '', 'grey level variance'],
      [`${jn}_var`, '', `${what} variance`],
      [`${jn}_entr`, '', `${what} entropy`],
    ],
    ids,
  );

const RLM = zoneRows('r', 'rl', 'run length', ['22OV', 'W4KF', 'V3SW', 'G3QZ', 'HTZT', 'GD3A', 'IVPO', '3KUM', 'R5YN', 'OVBL', 'W92Y', 'IC23', '9ZK5', '8CE5', 'SXLW', 'HJ9O'], 'r_perc');
const SZM = zoneRows('z', 'zs', 'zone size', ['5QRC', '48P8', 'XMSY', '5GN9', '5RAI', 'HW1V', 'YH51', 'J17V', 'JNSA', 'Y1RO', '4JP3', 'VB3A', 'P30P', 'BYLV', '3NSA', 'GU8N'], 'z_perc');
const DZM = zoneRows('d', 'zd', 'zone distance', ['0GBI', 'MB4I', 'S1RA', 'K26C', 'RUVG', 'DKNJ', 'A7WM', 'KLTH', 'VFT7', '7HP3', 'V294', 'IATH', 'VIWW', 'QK93', '7WT1', 'GBDU'], 'z_perc');

const NGT: Row[] = [
  ['coarseness', 'QCDE', 'coarseness 1 / sum p_i s_i (NaN for a region without grey tone differences; IBSI and PyRadiomics write 10^6)'],
  ['contrast', '65HE', 'contrast (NaN with a single grey level; IBSI writes 0)'],
  ['busyness', 'NQ30', 'busyness (NaN when the denominator is 0; IBSI writes 0)'],
  ['complexity', 'HDEZ', 'complexity'],
  ['strength', '1X9X', 'strength (NaN when sum s_i = 0; IBSI writes 0)'],
];

const NGL: Row[] = withIds(
  [
    ['lde', '', 'low dependence emphasis sum m / j^2 / Ns'],
    ['hde', '', 'high dependence emphasis sum m j^2 / Ns'],
    ['lgce', '', 'low grey level count emphasis sum m / i^2 / Ns'],
    ['hgce', '', 'high grey level count emphasis sum m i^2 / Ns'],
    ['ldlge', '', 'low dependence low grey level emphasis'],
    ['ldhge', '', 'low dependence high grey level emphasis'],
    ['hdlge', '', 'high dependence low grey level emphasis'],
    ['hdhge', '', 'high dependence high grey level emphasis'],
    ['glnu', '', 'grey level non-uniformity'],
    ['glnu_norm', '', 'normalised grey level non-uniformity'],
    ['dcnu', '', 'dependence count non-uniformity'],
    ['dcnu_norm', '', 'normalised dependence count non-uniformity'],
    ['dc_perc', '', 'dependence count percentage Ns / number of pixels'],
    ['gl_var', '', 'grey level variance'],
    ['dc_var', '', 'dependence count variance'],
    ['dc_entr', '', 'dependence count entropy'],
    ['dc_energy', '', 'dependence count energy sum p^2'],
  ],
  ['SODN', 'IMOQ', 'TL9H', 'OAE7', 'EQ3F', 'JA6D', 'NBZI', '9QMG', 'FP8K', '5SPA', 'Z87G', 'OKJI', '6XV8', '1PFV', 'DNX2', 'FCBV', 'CAS9'],
);

const ROWS: Record<Family, Row[]> = { stat: STAT, ih: IH, morph2d: MORPH, cm: CM, rlm: RLM, szm: SZM, dzm: DZM, ngt: NGT, ngl: NGL };

/** Features of one family in the order its compute function returns them. */
export const FEATURES: Record<Family, readonly FeatureInfo[]> = Object.fromEntries(
  FAMILIES.map((f) => [f, ROWS[f].map(([short, ibsi, definition]) => ({ name: `${f}_${short}`, family: f, ibsi, definition }))]),
) as unknown as Record<Family, readonly FeatureInfo[]>;

export const ALL_FEATURES: readonly FeatureInfo[] = FAMILIES.flatMap((f) => FEATURES[f]);

export function featureById(ibsi: string, family: Family): FeatureInfo | undefined {
  return FEATURES[family].find((x) => x.ibsi === ibsi);
}
