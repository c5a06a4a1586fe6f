import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../test/helpers/cli.js';
import { register } from './fit.js';

const F = fileURLToPath(new URL('../../shared/tabular/fixtures/sites', import.meta.url));
const site = (n: string) => ['--site', `${F}/${n}.csv`];

describe('fl fit', () => {
  it('--json prints the fitted.<model> object', async () => {
    const out = await runCli([register], ['fit', ...site('main_a'), ...site('main_b'), ...site('main_c'), '--outcome', 'ln_metastasis', '--family', 'logistic', '--columns', 'age,tumor_size_mm', '--columns', 'ki67,aus_positive', '--json']);
    const f = JSON.parse(out);
    expect(f.family).toBe('logistic');
    expect(f.n).toBe(425);
    expect(f.terms.map((t: { term: string }) => t.term)).toEqual(['(Intercept)', 'age', 'tumor_size_mm', 'ki67', 'aus_positive']);
    expect(f.round_trips).toBeGreaterThan(3);
  });
  it('a site below min_cell: exit 2 naming the site, or excluded with --exclude-refusing', async () => {
    const args = ['fit', ...site('mincell_a'), ...site('mincell_b'), ...site('mincell_d'), '--outcome', 'ln_metastasis', '--family', 'lasso_logistic', '--columns', 'age,ki67', '--lambda', '0.01'];
    await expect(runCli([register], args)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/site mincell_d: its complete cases number 3/) });
    const out = await runCli([register], [...args, '--exclude-refusing']);
    expect(out).toMatch(/excluded: site mincell_d/);
    expect(out).toMatch(/lambda = 0.0100000 \(fixed\)/);
  });
  it('bad options are named', async () => {
    await expect(runCli([register], ['fit', ...site('main_a'), '--outcome', 'y', '--family', 'svm', '--columns', 'a'])).rejects.toThrow(/--family must be/);
  });
});
