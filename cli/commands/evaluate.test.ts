import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CliError } from '../errors.js';
import { parseThreshold, register } from './evaluate.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-cli-evaluate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fixture = JSON.parse(readFileSync(new URL('../../shared/stats/fixtures/reference.json', import.meta.url), 'utf8'));

async function run(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out.push(String(s)); return true; });
  try {
    await program.parseAsync(['node', 'fl', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function failure(...args: string[]): Promise<CliError> {
  try {
    await run(...args);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).not.toBe(0);
    return err as CliError;
  }
  return expect.fail('expected a CliError');
}

// The n = 30 dataset of the R fixtures, as a predictions CSV with two cohorts and a subgroup.
const d = fixture.data.n30 as { y: number[]; a: number[]; b: number[] };
const ref = fixture.reference.n30;
const csv = write('preds.csv', ['case,label,ddfn,gsus,cohort,site', ...d.y.map((y, i) => `c${i},${y},${d.a[i]},${d.b[i]},test,${i % 2 ? 'A' : 'B'}`)].join('\n') + '\n');

describe('fl evaluate', () => {
  it('--json prints the documented shape with the figures R computes', async () => {
    const r = JSON.parse(await run('evaluate', '--predictions', csv, '--label', 'label', '--score', 'ddfn', '--score', 'gsus', '--json', '--bootstrap', '200', '--seed', '7'));
    const c = r.cohorts.all;
    expect(c.n).toBe(30);
    expect(c.positives).toBe(ref.positives);
    const m = c.models.ddfn;
    expect(m.auc.method).toBe('delong');
    expect(m.auc.estimate).toBeCloseTo(ref.auc_a.estimate, 10);
    expect(m.auc.ci[0]).toBeCloseTo(ref.auc_a.ci[0], 9);
    expect(m.auc.ci[1]).toBeCloseTo(ref.auc_a.ci[1], 9);
    expect(m.threshold).toBe(0.5);
    expect(m.confusion).toEqual(ref.confusion_a_05);
    expect(m.sensitivity.method).toBe('wilson');
    expect(m.sensitivity.ci[0]).toBeCloseTo(ref.proportions_a_05.sensitivity.wilson[0], 9);
    expect(m.calibration.slope).toBeCloseTo(ref.calibration_a.slope, 4);
    expect(m.decision_curve).toHaveLength(99);
    expect(m.decision_curve[14].threshold).toBe(0.15);
    expect(c.comparisons).toHaveLength(1);
    expect(c.comparisons[0].a).toBe('ddfn');
    expect(c.comparisons[0].delong.z).toBeCloseTo(ref.delong.z, 8);
    expect(c.comparisons[0].delong.p).toBeCloseTo(ref.delong.p, 8);
  });

  it('exact CIs, per-model thresholds, cohorts and subgroups', async () => {
    const r = JSON.parse(await run('evaluate', '--predictions', csv, '--label', 'label', '--score', 'ddfn,gsus', '--threshold', 'gsus=0.4',
      '--proportion-ci', 'exact', '--cohort-col', 'cohort', '--subgroup-col', 'site', '--bootstrap', '0', '--json'));
    const c = r.cohorts.test;
    expect(c.models.ddfn.threshold).toBe(0.5);
    expect(c.models.gsus.threshold).toBe(0.4);
    expect(c.models.ddfn.npv.method).toBe('exact');
    expect(c.models.ddfn.npv.ci[1]).toBeCloseTo(ref.proportions_a_05.npv.exact[1], 9);
    expect(Object.keys(c.subgroups).sort()).toEqual(['A', 'B']);
    expect(c.subgroups.A.n + c.subgroups.B.n).toBe(30);
  });

  it('prints a paper-style table and writes a self-contained HTML report', async () => {
    const html = join(dir, 'report.html');
    const out = await run('evaluate', '--predictions', csv, '--label', 'label', '--score', 'ddfn', '--score', 'gsus', '--bootstrap', '100', '--html', html);
    expect(out).toMatch(/AUC \(95% CI\)/);
    expect(out).toContain(`${ref.auc_a.estimate.toFixed(3)} (${ref.auc_a.ci[0].toFixed(3)}–${ref.auc_a.ci[1].toFixed(3)})`);
    expect(out).toMatch(/ddfn vs gsus/);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!DOCTYPE html>/);
    expect(page.match(/<svg /g)).toHaveLength(3);
    expect(page).toContain('ROC curves');
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('bad input exits non-zero naming the line and column', async () => {
    const base = ['evaluate', '--label', 'label', '--score', 'ddfn', '--predictions'];
    expect((await failure(...base, write('nolabel.csv', 'y,ddfn\n1,0.3\n'))).message).toMatch(/column "label"/);
    expect((await failure(...base, write('badlabel.csv', 'label,ddfn\n1,0.3\n2,0.4\n'))).message).toMatch(/line 3.*column "label"/);
    expect((await failure(...base, write('badscore.csv', 'label,ddfn\n1,0.3\n0,0.2\n0,abc\n'))).message).toMatch(/line 4.*column "ddfn"/);
    expect((await failure(...base, write('empty.csv', ''))).message).toMatch(/empty/);
    expect((await failure(...base, write('header.csv', 'label,ddfn\n'))).message).toMatch(/empty|no data rows/);
    expect((await failure(...base, csv, '--proportion-ci', 'agresti')).message).toMatch(/wilson or exact/);
  });

  it('an empty score cell leaves the case out for that model only', async () => {
    const p = write('missing.csv', 'label,a,b\n1,0.9,0.8\n0,0.2,\n1,0.7,0.6\n0,0.4,0.7\n0,,0.1\n1,0.6,0.9\n');
    const r = JSON.parse(await run('evaluate', '--predictions', p, '--label', 'label', '--score', 'a,b', '--bootstrap', '0', '--json'));
    const c = r.cohorts.all;
    expect(c.n).toBe(6);
    expect(c.models.a.n).toBe(5);
    expect(c.models.b.n).toBe(5);
    expect(c.models.a.auc.estimate).toBe(1);
    expect(c.models.b.auc.estimate).toBeCloseTo(5 / 6, 12);
    expect(c.comparisons[0].n).toBe(4);
    expect(c.comparisons[0].bootstrap).toBeUndefined();
  });

  it('parses thresholds', () => {
    expect(parseThreshold('0.3', ['a'])).toBe(0.3);
    expect(parseThreshold('b=0.2', ['a', 'b'])).toEqual({ a: 0.5, b: 0.2 });
    expect(() => parseThreshold('c=0.2', ['a', 'b'])).toThrow(/not one of/);
    expect(() => parseThreshold('x', ['a'])).toThrow(/not a number/);
  });

  it('--level-col and --subgroup-flag: each level on its own rows and models, subgroups with complements and the interaction test', async () => {
    // Level "n0" (model m1 on the n = 30 data, flag = the site column), level "burden" (models ddfn and gsus on the same data).
    const lines = ['label,m1,ddfn,gsus,level,high,cohort',
      ...d.y.map((y, i) => `${y},${d.a[i]},,,n0,${i % 2},test`),
      ...d.y.map((y, i) => `${y},,${d.a[i]},${d.b[i]},burden,${i === 0 ? 'NA' : i % 3 === 0 ? 1 : 0},test`)];
    const p = write('levels.csv', lines.join('\n') + '\n');
    const args = ['evaluate', '--predictions', p, '--label', 'label', '--score', 'm1,ddfn,gsus', '--cohort-col', 'cohort', '--level-col', 'level', '--subgroup-flag', 'high', '--bootstrap', '0'];
    const r = JSON.parse(await run(...args, '--json'));
    expect(r.levels.map((l: { name: string; models: string[] }) => `${l.name}:${l.models.join('+')}`)).toEqual(['n0:m1', 'burden:ddfn+gsus']);
    const burden = r.levels[1].cohorts.test;
    expect(burden.n).toBe(30);
    expect(burden.positives).toBe(ref.positives);
    expect(burden.comparisons).toHaveLength(1);
    expect(Math.abs(burden.comparisons[0].delong.p - ref.delong.p)).toBeLessThan(1e-9);
    expect(r.levels[1].subgroup_analyses.high.missing).toBe(1);
    expect(burden.subgroups.high.n + burden.subgroups['high (complement)'].n).toBe(29);
    const n0 = r.levels[0].subgroup_analyses.high.interaction.test.m1;
    expect(n0.auc_in).toBe(r.levels[0].cohorts.test.subgroups.high.models.m1.auc.estimate);
    expect(n0.p).toBeGreaterThan(0);
    // The pooled cohort keeps every row; the text output has a table per level and the interaction tests.
    expect(r.cohorts.test.n).toBe(60);
    const text = await run(...args);
    expect(text).toMatch(/Level n0 \(models m1\)/);
    expect(text).toMatch(/Level burden: subgroup interaction tests/);
    expect((await failure(...args.slice(0, -2), '--subgroup-flag', 'level')).message).toMatch(/subgroup flag "n0" is not 1 or 0/);
  });
});
