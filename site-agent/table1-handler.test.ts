// The site's table1.* handler: aggregates per cohort from the manifest (hand-counted here), small
// counts suppressed (-1 on the wire), replies the privacy guard accepts (numbers only), columns
// outside the clinical ones and tabular_columns refused by name, payload errors naming the field.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createTable1Handler } from './table1-handler.js';
import { PrivacyGuard } from './privacy-guard.js';
import { decodeSiteTable1 } from '../shared/stats/table1-wire.js';
import type { PhaseRequest } from '../shared/protocol/index.js';
import type { Table1Variable } from '../shared/stats/table1.js';

const log = pino({ level: 'silent' });

// train: 6 cases (her2: 4 negative, 2 positive; age 40..65 step 5; ki67 one NA)
// test: 5 cases (her2: 5 negative; age all 50)
const MANIFEST = [
  'case_id,cohort,label,bmus,age,ki67,her2,secret',
  't1,train,0,a.png,40,10,negative,x', 't2,train,1,a.png,45,NA,negative,x', 't3,train,0,a.png,50,20,negative,x',
  't4,train,1,a.png,55,30,negative,x', 't5,train,0,a.png,60,5,positive,x', 't6,train,1,a.png,65,15,positive,x',
  'h1,test,0,a.png,50,1,negative,x', 'h2,test,1,a.png,50,2,negative,x', 'h3,test,0,a.png,50,3,negative,x',
  'h4,test,0,a.png,50,4,negative,x', 'h5,test,1,a.png,50,,negative,x',
].join('\n') + '\n';

function handler(minCell = 3, tabularColumns = ['her2']) {
  const dir = mkdtempSync(join(tmpdir(), 'table1-handler-'));
  const manifest = join(dir, 'manifest.csv');
  writeFileSync(manifest, MANIFEST);
  return createTable1Handler({ siteId: 'site-a', manifest, tabularColumns, minCell, log });
}

const request = (phase: string, payload: unknown): PhaseRequest => ({
  type: 'phase', exchangeId: `${phase}-0-x`, studyId: 's', round: 0, model: 'table1', phase, deadlineUnixMs: Date.now() + 1000,
  payload: new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
});
const read = (b: Uint8Array): unknown => JSON.parse(Buffer.from(b).toString('utf8'));

const VARS: Table1Variable[] = [
  { name: 'age', column: 'age', kind: 'numeric', edges: [40, 50, 60, 70] },
  { name: 'her2', column: 'her2', kind: 'categorical', levels: ['negative', 'positive'] },
  { name: 'ki67', column: 'ki67', kind: 'numeric', edges: [0, 10, 40] },
];

describe('table1 phase handler', () => {
  it('answers table1.aggregates with hand-counted figures per cohort, small counts suppressed, guard-clean', async () => {
    const out = await handler(3)(request('table1.aggregates', { variables: VARS }));
    const guard = new PrivacyGuard({ studyId: 's', siteId: 'site-a', log });
    expect(() => guard.guardOutbound('phase-reply', { exchangeId: 'table1.aggregates-0-x', phase: 'table1.aggregates', payload: out, error: '' })).not.toThrow();
    const wire = read(out) as { min_cell: number; cohorts: Record<string, { n: number; vars: Record<string, { counts?: number[]; missing: number; n?: number; sum?: number; sumsq?: number; hist?: number[] }> }> };
    expect(wire.min_cell).toBe(3);
    expect(Object.keys(wire.cohorts).sort()).toEqual(['test', 'train']);
    const tr = wire.cohorts.train!;
    expect(tr.n).toBe(6);
    // her2 in train: 4 negative, 2 positive (suppressed: 1 <= 2 < 3), no other, no missing.
    expect(tr.vars.her2).toEqual({ counts: [4, -1, 0], missing: 0 });
    // age in train: 40,45 | 50,55 | 60,65: bins of 2 are suppressed; n, sums exact.
    expect(tr.vars.age).toEqual({ n: 6, sum: 315, sumsq: 40 ** 2 + 45 ** 2 + 50 ** 2 + 55 ** 2 + 60 ** 2 + 65 ** 2, missing: 0, hist: [-1, -1, -1] });
    // ki67 in train: NA is missing (1, suppressed); 10,20,30,5,15 -> [0,10): 5 -> 1 (suppressed), [10,40]: 4.
    expect(tr.vars.ki67).toEqual({ n: 5, sum: 80, sumsq: 100 + 400 + 900 + 25 + 225, missing: -1, hist: [-1, 4] });
    const te = wire.cohorts.test!;
    expect(te.vars.her2).toEqual({ counts: [5, 0, 0], missing: 0 });
    expect(te.vars.age).toEqual({ n: 5, sum: 250, sumsq: 5 * 2500, missing: 0, hist: [0, 5, 0] });
    // ki67 in test: empty cell missing (1, suppressed); 1,2,3,4 all in [0,10).
    expect(te.vars.ki67).toEqual({ n: 4, sum: 10, sumsq: 30, missing: -1, hist: [4, 0] });
    // The coordinator reads it back: suppressed counts are null again.
    const back = decodeSiteTable1('site-a', wire, VARS);
    expect(back.cohorts.train!.variables.her2).toEqual({ kind: 'categorical', counts: { negative: 4, positive: null }, missing: 0 });
  });

  it('answers table1.moments over all cases, suppressing a column with fewer than min_cell values', async () => {
    const out = read(await handler(3)(request('table1.moments', { columns: ['age', 'ki67'] }))) as Record<string, number[]>;
    expect(out.age).toEqual([11, 565, 40 ** 2 + 45 ** 2 + 50 ** 2 + 55 ** 2 + 60 ** 2 + 65 ** 2 + 5 * 2500, 0]);
    expect(out.ki67).toEqual([9, 90, 1650 + 30, 0]);
    const few = read(await handler(10)(request('table1.moments', { columns: ['ki67'] }))) as Record<string, number[]>;
    expect(few.ki67).toEqual([-1, -1, -1, -1]);
  });

  it('refuses columns the site does not share, naming them', async () => {
    await expect(handler(3, [])(request('table1.aggregates', { variables: VARS }))).rejects.toThrow(/not of "her2".*tabular_columns/);
    await expect(handler(3)(request('table1.moments', { columns: ['secret'] }))).rejects.toThrow(/"secret"/);
  });

  it('names the field of a bad payload and refuses unknown steps', async () => {
    await expect(handler()(request('table1.aggregates', { variables: [{ name: 'her2', column: 'her2', kind: 'categorical' }] }))).rejects.toThrow(/field "variables.0.levels"/);
    await expect(handler()(request('table1.aggregates', 'nope'))).rejects.toThrow(/not JSON/);
    await expect(handler()(request('table1.rows', {}))).rejects.toThrow(/unknown table1 phase/);
  });

  it('describes only the study population when the request names it (missing population cells left out)', async () => {
    const population = [{ name: 'endpoint', outcome: { column: 'label', positive_when: '== 1' }, population: { column: 'ki67', between: [10, 40] } }];
    const wire = read(await handler(1)(request('table1.aggregates', { variables: VARS, population }))) as { cohorts: Record<string, { n: number; vars: Record<string, { n?: number; sum?: number }> }> };
    // train: ki67 10, 20, 30, 15 are inside (t1, t3, t4, t6); NA (t2) and 5 (t5) are not; test: none inside.
    expect(wire.cohorts.train!.n).toBe(4);
    expect(wire.cohorts.train!.vars.age).toMatchObject({ n: 4, sum: 40 + 50 + 55 + 65 });
    expect(wire.cohorts.test).toBeUndefined();
    const moments = read(await handler(1)(request('table1.moments', { columns: ['age'], population }))) as Record<string, number[]>;
    expect(moments.age!.slice(0, 2)).toEqual([4, 210]);
    await expect(handler(1)(request('table1.aggregates', { variables: VARS, population: [{ name: 'x', outcome: { column: 'label' } }] }))).rejects.toThrow(/endpoint is invalid: 0\.outcome\.positive_when/);
  });
});
