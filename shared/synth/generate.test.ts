import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkManifest } from '../../site-agent/data/manifest.js';
import { cohortSizes, generateSites } from './generate.js';
import { parseCsv } from '../stats/csv.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('synthetic multicenter generator', () => {
  it('is deterministic in the seed and writes valid manifests with all cohorts', async () => {
    const a = generateSites({ out: join(dir, 'a'), sites: 2, casesPerSite: 30, seed: 9, imageSize: 48 });
    const b = generateSites({ out: join(dir, 'b'), sites: 2, casesPerSite: 30, seed: 9, imageSize: 48 });
    const c = generateSites({ out: join(dir, 'c'), sites: 2, casesPerSite: 30, seed: 10, imageSize: 48 });
    const read = (root: string, f: string) => readFileSync(join(dir, root, f));
    expect(read('a', 'site-2/manifest.csv').equals(read('b', 'site-2/manifest.csv'))).toBe(true);
    expect(read('a', 'site-2/images/S2-0007_ceus.png').equals(read('b', 'site-2/images/S2-0007_ceus.png'))).toBe(true);
    expect(read('a', 'site-2/images/S2-0007_ceus.png').equals(read('c', 'site-2/images/S2-0007_ceus.png'))).toBe(false);
    // Sites differ in scanner and prevalence.
    expect(a.sites[0]!.profile.scanner.gain).not.toBe(a.sites[1]!.profile.scanner.gain);
    expect(a.sites[0]!.cases).toEqual(b.sites[0]!.cases);
    expect(Object.values(a.sites[0]!.cases).map((x) => x.n)).toEqual([18, 3, 6, 3]);
    for (const s of a.sites) {
      const check = await checkManifest(s.manifest);
      expect(check.problems).toEqual([]);
      expect(check.manifest.modalities).toEqual(['gsus', 'ceus']);
      expect(new Set(check.manifest.cases.map((x) => x.cohort))).toEqual(new Set(['train', 'validation', 'test', 'prospective']));
      expect(check.manifest.cases.every((x) => x.images['gsus']!.roi !== undefined)).toBe(true);
      const nodes = check.manifest.cases.map((x) => [x.label, x.clinical.n_positive_nodes]);
      expect(nodes.every(([y, n]) => (y === 0 ? n === 0 : n! >= 1))).toBe(true);
      expect(check.images.find((i) => i.caseId === check.manifest.cases[0]!.caseId && i.modality === 'gsus')!.width).toBe(48);
    }
  });

  it('splits cohorts exactly and rejects bad options', () => {
    expect(cohortSizes(10, [0.6, 0.1, 0.2, 0.1])).toEqual([6, 1, 2, 1]);
    expect(cohortSizes(5, [0.6, 0.1, 0.2, 0.1]).reduce((s, n) => s + n, 0)).toBe(5);
    expect(cohortSizes(5, [0.6, 0.1, 0.2, 0.1]).every((n) => n >= 1)).toBe(true);
    expect(() => generateSites({ out: dir, sites: 0, casesPerSite: 2, seed: -1 })).toThrow(
      /sites 0: expected an integer in 1..100\n {2}casesPerSite 2: .*\n {2}seed -1/,
    );
  });

  it('a seed study: its clinical columns, outcome and pair; valid manifests', async () => {
    const r = generateSites({ out: join(dir, 'comb'), sites: 1, casesPerSite: 24, seed: 4, imageSize: 40, study: 'comb' });
    const check = await checkManifest(r.sites[0]!.manifest);
    expect(check.problems).toEqual([]);
    expect(check.manifest.modalities).toEqual(['bmus', 'cdus']);
    const rows = parseCsv(readFileSync(r.sites[0]!.manifest, 'utf8'));
    expect(Object.keys(rows[0]!)).toEqual(expect.arrayContaining(['er', 'her2', 'aus_suspicious', 'aln_class', 'n_positive_sln', 'nsln_positive']));
    for (const x of rows) expect(x.label).toBe(Number(x.n_positive_nodes) > 0 ? '1' : '0');
    expect(() => generateSites({ out: dir, sites: 1, casesPerSite: 4, seed: 1, study: 'nope' as never })).toThrow(/study nope: expected one of ddfn, comb/);
  });
});
