// The coordinator's Table 1 step against real site handlers (no network): variables from the
// study (declared or default), edges from the pooled moments, pooled figures equal to the figures
// of the raw rows, a refusing site named in sites_missing, a missing table1 with a reason.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { collectTable1, table1Variables, type Table1Host } from './table1.js';
import { createTable1Handler } from '../site-agent/table1-handler.js';
import { studySchema } from '../shared/config/study.js';
import type { PhaseRequest } from '../shared/protocol/index.js';

const log = pino({ level: 'silent' });

function rows(seed: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const cohort = i % 3 === 0 ? 'test' : 'train';
    const age = 35 + ((i * 7 + seed * 13) % 40);
    const her2 = (i + seed) % 4 === 0 ? 'positive' : 'negative';
    const lvi = (i * 5 + seed) % 3 === 0 ? '1' : '0';
    out.push(`c${seed}_${i},${cohort},${i % 2},a.png,${age},${her2},${lvi}`);
  }
  return out;
}

function site(name: string, seed: number, n: number, tabularColumns = ['her2', 'lvi']) {
  const dir = mkdtempSync(join(tmpdir(), 'table1-coord-'));
  const manifest = join(dir, 'manifest.csv');
  const lines = rows(seed, n);
  writeFileSync(manifest, ['case_id,cohort,label,bmus,age,her2,lvi', ...lines].join('\n') + '\n');
  return { name, lines, handler: createTable1Handler({ siteId: name, manifest, tabularColumns, minCell: 5, log }) };
}

function host(study: unknown, sites: ReturnType<typeof site>[]): Table1Host & { phasesAsked: string[] } {
  const phasesAsked: string[] = [];
  return {
    phasesAsked,
    file: { study: studySchema.parse(study) },
    sites: { connectedSites: () => sites.map((s) => s.name) },
    phases: {
      async exchange(round, model, phase, requests) {
        phasesAsked.push(phase);
        const answers = new Map<string, Uint8Array>();
        const failures: { site: string; reason: string }[] = [];
        for (const [name, payload] of requests) {
          const req: PhaseRequest = { type: 'phase', exchangeId: `${phase}-${round}-x`, studyId: 's', round, model, phase, payload, deadlineUnixMs: Date.now() + 1000 };
          try {
            answers.set(name, await sites.find((s) => s.name === name)!.handler(req));
          } catch (err) {
            failures.push({ site: name, reason: `${phase}: refused: ${(err as Error).message}` });
          }
        }
        return { answers, failures };
      },
    },
  };
}

const STUDY = {
  id: 's', rounds: 1, min_sites: 1,
  models: [{ name: 'c', family: 'logistic', inputs: { columns: ['age', { name: 'her2', type: 'categorical', levels: ['negative', 'positive'] }, { name: 'lvi', type: 'binary' }] } }],
};

describe('coordinator Table 1', () => {
  it('defaults to the clinical columns and the tabular models\' input columns; table1.columns overrides', () => {
    const vars = table1Variables(studySchema.parse(STUDY));
    expect(vars.map((v) => `${v.name}:${v.kind}`)).toEqual(['age:numeric', 'tumor_size_mm:numeric', 'ki67:numeric', 'n_positive_nodes:numeric', 'her2:categorical', 'lvi:categorical']);
    expect(vars.find((v) => v.name === 'lvi')!.levels).toEqual(['0', '1']);
    const declared = table1Variables(studySchema.parse({ ...STUDY, table1: { columns: ['age', { name: 'her2', type: 'categorical', levels: ['negative', 'positive'] }] } }));
    expect(declared.map((v) => v.name)).toEqual(['age', 'her2']);
    expect(() => studySchema.parse({ ...STUDY, table1: { columns: [{ name: 'her2', type: 'categorical' }] } })).toThrow(/needs its levels/);
  });

  it('pools two sites: n per cohort, counts and mean (SD) as from the raw rows, P-values, per-site tables', async () => {
    const a = site('site-a', 1, 90), b = site('site-b', 2, 60);
    const h = host({ ...STUDY, table1: { columns: ['age', { name: 'her2', type: 'categorical', levels: ['negative', 'positive'] }] } }, [a, b]);
    const { table1 } = await collectTable1(h, log);
    expect(h.phasesAsked).toEqual(['table1.moments', 'table1.aggregates']);
    if (!('rows' in table1)) throw new Error(table1.reason);
    const all = [...a.lines, ...b.lines].map((l) => l.split(','));
    const inCohort = (c: string) => all.filter((r) => r[1] === c);
    expect(table1.cohorts).toEqual(['train', 'test']);
    expect(table1.n).toEqual({ train: inCohort('train').length, test: inCohort('test').length });
    for (const c of ['train', 'test']) {
      const ages = inCohort(c).map((r) => Number(r[4]));
      const m = ages.reduce((s, x) => s + x, 0) / ages.length;
      const sd = Math.sqrt(ages.reduce((s, x) => s + (x - m) ** 2, 0) / (ages.length - 1));
      expect(table1.rows.find((r) => r.variable === 'age' && r.statistic === 'mean (SD)')!.cells[c]!.text).toBe(`${m.toFixed(1)} (${sd.toFixed(1)})`);
      const pos = inCohort(c).filter((r) => r[5] === 'positive').length;
      expect(table1.rows.find((r) => r.variable === 'her2' && r.statistic === 'positive')!.cells[c]!.text).toBe(`${pos} (${((100 * pos) / ages.length).toFixed(1)}%)`);
    }
    expect(table1.rows.some((r) => r.statistic === 'median [IQR] (histogram)')).toBe(true);
    expect(table1.tests.age!.p).toBeGreaterThan(0);
    expect(table1.tests.her2!.p).toBeGreaterThan(0);
    expect(Object.keys(table1.by_site).sort()).toEqual(['site-a', 'site-b']);
    expect(table1.sites_answered).toEqual(['site-a', 'site-b']);
    expect(table1.sites_missing).toEqual({});
    expect(table1.variables.find((v) => v.name === 'age')!.edges!.length).toBe(17);
  });

  it('names a site that refuses and pools the others; with no site left, a reason', async () => {
    const a = site('site-a', 1, 90), b = site('site-b', 2, 60, []);
    const { table1 } = await collectTable1(host(STUDY, [a, b]), log);
    expect(table1.sites_missing['site-b']).toMatch(/tabular_columns/);
    if (!('rows' in table1)) throw new Error(table1.reason);
    expect(table1.sites_answered).toEqual(['site-a']);
    // Columns no site has (tumor_size_mm, ki67, n_positive_nodes) are left out with a note.
    expect(table1.notes.at(-1)).toMatch(/tumor_size_mm/);
    const none = await collectTable1(host(STUDY, [b]), log);
    expect('reason' in none.table1 && none.table1.reason).toMatch(/no site answered/);
  });

  it('describes the study population: a restricted population only, stated in the notes; a hierarchical study on level 1\'s population', async () => {
    const a = site('site-a', 1, 90), b = site('site-b', 2, 60);
    const study = { ...STUDY, outcome: { column: 'label', positive_when: '== 1' }, population: { column: 'age', between: [40, 60] }, table1: { columns: ['age'] } };
    const h = host(study, [a, b]);
    const { table1 } = await collectTable1(h, log);
    if (!('rows' in table1)) throw new Error(table1.reason);
    const all = [...a.lines, ...b.lines].map((l) => l.split(',')).filter((r) => Number(r[4]) >= 40 && Number(r[4]) <= 60);
    for (const c of ['train', 'test']) {
      const ages = all.filter((r) => r[1] === c).map((r) => Number(r[4]));
      expect(table1.n[c]).toBe(ages.length);
      const m = ages.reduce((x, y) => x + y, 0) / ages.length;
      const sd = Math.sqrt(ages.reduce((x, y) => x + (y - m) ** 2, 0) / (ages.length - 1));
      expect(table1.rows.find((r) => r.variable === 'age' && r.statistic === 'mean (SD)')!.cells[c]!.text).toBe(`${m.toFixed(1)} (${sd.toFixed(1)})`);
    }
    expect(table1.n.train! + table1.n.test!).toBeLessThan(150);
    expect(table1.notes[0]).toMatch(/study population: age between 40 and 60.*trained and evaluated on/);
    // A hierarchical endpoint: level 1 (everyone with the outcome recorded) is described, and the notes say so.
    const levels = { ...STUDY, table1: { columns: ['age'] }, levels: [{ name: 'first', outcome: { column: 'label', positive_when: '== 1' } }, { name: 'second', outcome: { column: 'lvi', positive_when: '== 1' } }] };
    const l = (await collectTable1(host(levels, [a, b]), log)).table1;
    if (!('rows' in l)) throw new Error(l.reason);
    expect(l.n.train! + l.n.test!).toBe(150);
    expect(l.notes[0]).toMatch(/level 1's population \(first/);
    // A study on the label column: every case, no population note.
    const plain = (await collectTable1(host({ ...STUDY, table1: { columns: ['age'] } }, [a, b]), log)).table1;
    if (!('rows' in plain)) throw new Error(plain.reason);
    expect(plain.notes.some((n) => /population/.test(n))).toBe(false);
  });
});
