import { runCli } from '../../test/helpers/cli.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSites } from '../../shared/synth/generate.js';
import { CliError } from '../errors.js';
import { register as registerData } from './data.js';
import { register as registerSynth } from './synth.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-cli-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]): Promise<string> => runCli([registerData, registerSynth], args);

describe('fl synth / fl data check', () => {
  it('generates sites and checks a valid manifest with a summary', async () => {
    const out = await run('synth', '--out', dir, '--sites', '1', '--cases-per-site', '20', '--seed', '4', '--image-size', '40');
    expect(out).toMatch(/site-1: .*manifest.csv/);
    const summary = JSON.parse(await run('data', 'check', join(dir, 'site-1/manifest.csv'), '--json'));
    expect(summary.cases).toBe(20);
    expect(summary.cohorts.train.cases).toBe(12);
    expect(summary.imageSizes.gsus).toEqual({ '40x40 png 8-bit': 20 });
    expect(summary.problems).toEqual([]);
  });

  it('exits non-zero listing every problem', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'case_id,cohort,label,gsus\nX1,train,yes,site-1/images/S1-0001_gsus.png\nX2,later,0,nope.png\n');
    const err = await run('data', 'check', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(1);
    expect((err as CliError).message).toContain('3 problems');
    expect((err as CliError).message).toContain('row 2, column label: label must be 0 or 1, got "yes"');
    expect((err as CliError).message).toContain('row 3, column cohort: unknown cohort "later"');
    expect((err as CliError).message).toContain('row 3, column gsus: image not found: nope.png');
  });
});
