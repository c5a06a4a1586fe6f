import { describe, expect, it } from 'vitest';
import { checkLevelCohorts, endpointFieldsSchema, parseCondition, resolveEndpoints, subgroupMembership, EndpointError } from './endpoint.js';
import { studySchema } from './study.js';

const rows = [
  // n_positive_nodes: 0 = N0, 1-2 = N1-2, >= 3 = N>=3
  { case_id: 'a', cohort: 'train', n_positive_nodes: '0', n_positive_sln: '0', ki67: '10' },
  { case_id: 'b', cohort: 'train', n_positive_nodes: '2', n_positive_sln: '1', ki67: '30' },
  { case_id: 'c', cohort: 'train', n_positive_nodes: '5', n_positive_sln: '2', ki67: '14' },
  { case_id: 'd', cohort: 'validation', n_positive_nodes: '1', n_positive_sln: '1', ki67: 'NA' },
  { case_id: 'e', cohort: 'validation', n_positive_nodes: '4', n_positive_sln: '3', ki67: '' },
  { case_id: 'f', cohort: 'test', n_positive_nodes: 'NA', n_positive_sln: '1', ki67: '50' },
  { case_id: 'g', cohort: 'test', n_positive_nodes: '3', n_positive_sln: '', ki67: '5' },
];

describe('endpoint conditions', () => {
  it('parses OP VALUE and refuses anything else with the way to write it', () => {
    expect(parseCondition('>= 1')).toEqual({ op: '>=', value: 1, text: '>= 1' });
    expect(parseCondition('==positive')).toEqual({ op: '==', value: 'positive', text: '== positive' });
    expect(parseCondition('> high')).toMatch(/> needs a number/);
    expect(parseCondition('at least 1')).toMatch(/not a condition.*OP VALUE/);
  });

  it('study config: outcome, population, levels, subgroups validate; errors name the field', () => {
    const base = { id: 's', rounds: 1, min_sites: 1, models: [{ name: 'm' }] };
    const ok = studySchema.parse({ ...base, outcome: { column: 'n_positive_nodes', positive_when: '>= 1' }, population: { column: 'n_positive_sln', between: [1, 2] }, subgroups: [{ name: 'ki67_high', column: 'ki67', when: '>= 14' }] });
    expect(ok.outcome!.positive_when.op).toBe('>=');
    expect(studySchema.parse(base).subgroups).toBeUndefined();
    // A subgroup's predictions.csv column may not clash with a model's or a fixed column.
    for (const name of ['m', 'level']) {
      const clash = studySchema.safeParse({ ...base, subgroups: [{ name, column: 'ki67', when: '>= 14' }] });
      expect(clash.success).toBe(false);
      expect(clash.error!.issues[0]!.path).toEqual(['subgroups', 0, 'name']);
      expect(clash.error!.issues[0]!.message).toMatch(/same predictions.csv column/);
    }
    const both = studySchema.safeParse({ ...base, outcome: { column: 'x', positive_when: '>= 1' }, levels: [{ name: 'a', outcome: { column: 'x', positive_when: '>= 1' } }, { name: 'b', outcome: { column: 'x', positive_when: '>= 3' } }] });
    expect(both.success).toBe(false);
    expect(JSON.stringify(both.error!.issues)).toMatch(/either outcome .* or levels/);
    const bad = endpointFieldsSchema.safeParse({ outcome: { column: 'x', positive_when: 'big' } });
    expect(bad.error!.issues[0]!.path).toEqual(['outcome', 'positive_when']);
    expect(endpointFieldsSchema.safeParse({ population: { column: 'x', between: [3, 1] } }).success).toBe(false);
  });
});

describe('resolveEndpoints', () => {
  it('outcome from a column; NA and empty cells are missing', () => {
    const [l] = resolveEndpoints(rows, { outcome: { column: 'n_positive_nodes', positive_when: parseCondition('>= 1') as never } });
    expect(l!.rows).toEqual([0, 1, 2, 3, 4, 6]);
    expect(l!.labels).toEqual([0, 1, 1, 1, 1, 1]);
    expect(l!.excluded).toEqual({ outside_population: 0, missing_population: 0, missing_outcome: 1 });
    expect(l!.cohorts).toEqual({ train: { n: 3, positives: 2 }, validation: { n: 2, positives: 2 }, test: { n: 1, positives: 1 } });
  });

  it('restricted population: 1-2 positive sentinel nodes only', () => {
    const e = endpointFieldsSchema.parse({ outcome: { column: 'n_positive_nodes', positive_when: '> 2' }, population: { column: 'n_positive_sln', between: [1, 2] } });
    const [l] = resolveEndpoints(rows, e);
    expect(l!.rows).toEqual([1, 2, 3]); // f: outcome NA; e: 3 positive SLN; g: SLN missing
    expect(l!.labels).toEqual([0, 1, 0]);
    expect(l!.excluded).toEqual({ outside_population: 2, missing_population: 1, missing_outcome: 1 });
  });

  it('hierarchical: level 2 (N1-2 vs N>=3) among the positives of level 1 only', () => {
    const e = endpointFieldsSchema.parse({ levels: [
      { name: 'n0_vs_nplus', outcome: { column: 'n_positive_nodes', positive_when: '>= 1' } },
      { name: 'low_vs_high', outcome: { column: 'n_positive_nodes', positive_when: '>= 3' } },
    ] });
    const [l1, l2] = resolveEndpoints(rows, e);
    expect(l1!.rows).toEqual([0, 1, 2, 3, 4, 6]);
    expect(l2!.rows).toEqual([1, 2, 3, 4, 6]);
    expect(l2!.labels).toEqual([0, 1, 0, 1, 1]);
    expect(l2!.excluded.outside_population).toBe(2); // a (N0) and f (missing at level 1)
    expect(() => checkLevelCohorts([l1!, l2!])).toThrow(EndpointError);
    expect(() => checkLevelCohorts([l1!, l2!])).toThrow(/level "n0_vs_nplus" .*cohort validation: 2 cases, 2 positive/);
  });

  it('without an outcome the label column is the outcome; a missing column is named', () => {
    const [l] = resolveEndpoints([{ label: '1', cohort: 'train' }, { label: '0', cohort: 'train' }], {});
    expect(l!.labels).toEqual([1, 0]);
    expect(() => resolveEndpoints(rows, endpointFieldsSchema.parse({ outcome: { column: 'nodes', positive_when: '>= 1' } }))).toThrow(/no column "nodes"/);
    expect(() => resolveEndpoints([{ cohort: 'train', n: 'two' }], endpointFieldsSchema.parse({ outcome: { column: 'n', positive_when: '>= 1' } }), 'cohort', (i) => `site-1 row ${i + 2}`))
      .toThrow(/site-1 row 2, column n: "two" is not a number/);
  });

  it('subgroup membership: true, false or null (missing)', () => {
    const s = endpointFieldsSchema.parse({ subgroups: [{ name: 'ki67_high', column: 'ki67', when: '>= 14' }] }).subgroups![0]!;
    expect(subgroupMembership(rows, s)).toEqual([false, true, true, null, null, true, false]);
  });
});
