// Typed manifest columns for tabular models: numeric, binary 0/1, categorical levels as
// indicators (first level the reference); missing cells NaN; undeclared columns refused; every
// bad cell named by row and column; the training view holds the `train` cohort only.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifestColumns, openTabularData } from './tabular-table.js';
import type { Manifest } from './manifest.js';

function manifest(rows: string[][], header: string[]): Manifest {
  const dir = mkdtempSync(join(tmpdir(), 'tab-table-'));
  const path = join(dir, 'manifest.csv');
  writeFileSync(path, [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n');
  const at = (h: string) => header.indexOf(h);
  return {
    path, modalities: [],
    cases: rows.map((r, i) => ({
      caseId: r[at('case_id')]!, cohort: r[at('cohort')] as 'train', label: Number(r[at('label')]) as 0 | 1, line: i + 2, images: {},
      clinical: r[at('age')] ? { age: Number(r[at('age')]) } : {},
    })),
  };
}

const HEADER = ['case_id', 'cohort', 'label', 'age', 'aus_positive', 'subtype'];
const ROWS = [
  ['a1', 'train', '1', '50', '1', 'luminal_a'],
  ['a2', 'train', '0', '', '0', 'her2'],
  ['a3', 'validation', '1', '61', '1', 'tnbc'],
  ['a4', 'train', '0', '44', 'NA', ''],
];

describe('tabular table', () => {
  it('reads typed columns; categorical levels become indicators; missing is NaN', async () => {
    const cols = await manifestColumns(manifest(ROWS, HEADER), ['age', { name: 'aus_positive', type: 'binary' }, { name: 'subtype', type: 'categorical', levels: ['luminal_a', 'her2', 'tnbc'] }], 'm', ['aus_positive', 'subtype']);
    expect([...cols.keys()]).toEqual(['age', 'aus_positive', 'subtype=her2', 'subtype=tnbc']);
    expect([...cols.get('age')!]).toEqual([50, NaN, 61, 44]);
    expect([...cols.get('aus_positive')!]).toEqual([1, 0, 1, NaN]);
    expect([...cols.get('subtype=her2')!]).toEqual([0, 1, 0, NaN]);
    expect([...cols.get('subtype=tnbc')!]).toEqual([0, 0, 1, NaN]);
  });

  it('refuses undeclared columns and bad cells, all at once, by row and column', async () => {
    const m = manifest([...ROWS, ['a5', 'train', '1', 'old', '2', 'basal']], HEADER);
    await expect(manifestColumns(m, ['aus_positive'], 'clinical')).rejects.toThrow(/column aus_positive: this site has not declared it for tabular models \(add it to tabular_columns in site.yaml/);
    const err = await manifestColumns(m, ['age', { name: 'aus_positive', type: 'binary' }, { name: 'subtype', type: 'categorical', levels: ['luminal_a', 'her2', 'tnbc'] }], 'clinical', ['aus_positive', 'subtype']).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/3 problems/);
    expect((err as Error).message).toMatch(/row 6, column age: "old" is not a number/);
    expect((err as Error).message).toMatch(/row 6, column aus_positive: 2 is not 0 or 1/);
    expect((err as Error).message).toMatch(/row 6, column subtype: "basal" is not one of the levels luminal_a, her2, tnbc/);
  });

  it('the training view is the train cohort only', async () => {
    const t = await openTabularData(manifest(ROWS, HEADER), { model: 'm', inputs: { columns: ['age'] } }, mkdtempSync(join(tmpdir(), 'tab-cache-')));
    const train = t.forTraining();
    expect(train.caseIds).toEqual(['a1', 'a2', 'a4']);
    expect([...train.labels]).toEqual([1, 0, 0]);
    expect(t.forEvaluation('validation').caseIds).toEqual(['a3']);
  });
});
