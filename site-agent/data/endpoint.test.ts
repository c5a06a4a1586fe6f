import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEndpoint } from './endpoint.js';
import { EndpointError, endpointChain, parseEndpointChain } from '../../shared/config/endpoint.js';
import { studySchema } from '../../shared/config/study.js';
import type { Manifest, ManifestCase } from './manifest.js';

// case, cohort, label, n_positive_nodes, n_positive_sln
const ROWS: [string, string, number, string, string][] = [
  ['a', 'train', 0, '0', '0'], ['b', 'train', 1, '1', '1'], ['c', 'train', 1, '4', '2'], ['d', 'train', 1, '2', '2'],
  ['e', 'validation', 0, '0', '0'], ['f', 'validation', 1, '3', '1'], ['g', 'test', 1, 'NA', '1'], ['h', 'test', 1, '5', '3'],
];

function manifest(): Manifest {
  const dir = mkdtempSync(join(tmpdir(), 'fl-endpoint-'));
  const path = join(dir, 'manifest.csv');
  writeFileSync(path, ['case_id,cohort,label,N_Positive_Nodes,n_positive_sln', ...ROWS.map((r) => r.join(','))].join('\n') + '\n');
  const cases: ManifestCase[] = ROWS.map(([caseId, cohort, label], i) => ({ caseId, cohort: cohort as ManifestCase['cohort'], label: label as 0 | 1, line: i + 2, images: {}, clinical: {} }));
  return { path, modalities: [], cases };
}

const study = (extra: Record<string, unknown>, models: Record<string, unknown>[] = [{ name: 'm' }]) => studySchema.parse({ id: 's', rounds: 1, min_sites: 1, models, ...extra });

describe('the endpoint at the site', () => {
  it('relabels from the outcome column and drops missing outcomes', async () => {
    const s = study({ outcome: { column: 'n_positive_nodes', positive_when: '>= 3' } });
    const chain = parseEndpointChain(endpointChain(s, s.models[0]!), 'm');
    const e = await applyEndpoint(manifest(), chain);
    expect(e.manifest.cases.map((c) => `${c.caseId}:${c.label}`)).toEqual(['a:0', 'b:0', 'c:1', 'd:0', 'e:0', 'f:1', 'h:1']);
    expect(e.level.excluded).toEqual({ outside_population: 0, missing_population: 0, missing_outcome: 1 });
  });

  it('restricts to the population (1-2 positive SLN)', async () => {
    const s = study({ outcome: { column: 'n_positive_nodes', positive_when: '>= 3' }, population: { column: 'n_positive_sln', between: [1, 2] } });
    const e = await applyEndpoint(manifest(), parseEndpointChain(endpointChain(s, s.models[0]!), 'm'));
    expect(e.manifest.cases.map((c) => `${c.caseId}:${c.label}`)).toEqual(['b:0', 'c:1', 'd:0', 'f:1']);
    expect(e.level.cohorts).toEqual({ train: { n: 3, positives: 1 }, validation: { n: 1, positives: 1 } });
  });

  it('level 2 of a hierarchical endpoint uses the positives of level 1 only', async () => {
    const levels = [
      { name: 'n0_vs_nplus', outcome: { column: 'n_positive_nodes', positive_when: '>= 1' } },
      { name: 'low_vs_high', outcome: { column: 'n_positive_nodes', positive_when: '>= 3' } },
    ];
    const s = study({ levels }, [{ name: 'm1' }, { name: 'm2', level: 'low_vs_high' }]);
    const one = await applyEndpoint(manifest(), parseEndpointChain(endpointChain(s, s.models[0]!), 'm1'));
    expect(one.manifest.cases.map((c) => `${c.caseId}:${c.label}`)).toEqual(['a:0', 'b:1', 'c:1', 'd:1', 'e:0', 'f:1', 'h:1']);
    const two = await applyEndpoint(manifest(), parseEndpointChain(endpointChain(s, s.models[1]!), 'm2'));
    expect(two.level.name).toBe('low_vs_high');
    expect(two.manifest.cases.map((c) => `${c.caseId}:${c.label}`)).toEqual(['b:0', 'c:1', 'd:0', 'f:1', 'h:1']);
  });

  it('a study without endpoint words sends none; an unknown level is refused', () => {
    expect(endpointChain(study({}), { name: 'm' })).toBeNull();
    expect(() => study({ levels: [{ name: 'a', outcome: { column: 'x', positive_when: '>= 1' } }, { name: 'b', outcome: { column: 'x', positive_when: '>= 3' } }] }, [{ name: 'm', level: 'c' }])).toThrow(/is not one of the study.s levels \(a, b\)/);
    expect(() => parseEndpointChain([{ name: 'x', outcome: { column: 'y', positive_when: 'big' } }], 'm')).toThrow(/model "m".*not a condition/);
  });

  it('checks the cohort rules at every level of the chain for the site: a level without cases in a required cohort names the site, level and cohort', async () => {
    const levels = [
      { name: 'n0_vs_nplus', outcome: { column: 'n_positive_nodes', positive_when: '>= 1' } },
      // Level 2 among N+ with 1 positive SLN: b (train) and f (validation).
      { name: 'one_sln', outcome: { column: 'n_positive_nodes', positive_when: '>= 3' }, population: { column: 'n_positive_sln', between: [1, 1] } },
    ];
    const s = study({ levels }, [{ name: 'm1' }, { name: 'm2', level: 'one_sln' }]);
    // Level 1 has cases in train and validation: passes.
    await expect(applyEndpoint(manifest(), parseEndpointChain(endpointChain(s, s.models[0]!), 'm1'), 'site-7')).resolves.toBeDefined();
    // Level 2: b in train, f in validation: passes.
    await expect(applyEndpoint(manifest(), parseEndpointChain(endpointChain(s, s.models[1]!), 'm2'), 'site-7')).resolves.toBeDefined();
    const none = study({ levels: [levels[0], { ...levels[1], population: { column: 'n_positive_sln', between: [2, 2] } }] }, [{ name: 'm1' }, { name: 'm2', level: 'one_sln' }]);
    // Level 2 among N+ with 2 positive SLN: c and d in train, nobody in validation.
    const err = await applyEndpoint(manifest(), parseEndpointChain(endpointChain(none, none.models[1]!), 'm2'), 'site-7').catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(EndpointError);
    expect((err as Error).message).toMatch(/site site-7 .*\n.*level "one_sln" .*cohort validation: 0 cases/);
    expect((err as Error).message).not.toMatch(/cohort train/);
    // Without a site name (as before) nothing is checked.
    await expect(applyEndpoint(manifest(), parseEndpointChain(endpointChain(none, none.models[1]!), 'm2'))).resolves.toBeDefined();
  });
});
