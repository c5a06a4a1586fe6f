// `fl fit`: a federated tabular model in one process, over site tables. Each --site file is one
// site; its rows are never mixed with another's - only the sums a site would send are combined, by
// the same coordinator code that runs over gRPC.
//   fl fit --site a.csv --site b.csv [--site ...] --outcome COL --family logistic|lasso_logistic|gbdt
//     --columns x1,x2,... [--lambda L | --folds K --rule min|1se] [--icc-pair x1:x1_r2,...]
//     [--icc-min 0.75] [--pearson-max 0.9] [--seed S] [--min-cell 5] [--exclude-refusing]
//     [--rounds N --depth D --learning-rate E --gbdt-lambda L --bins B] [--id-column case_id] [--json]
// Output: the report's `fitted.<model>` object (with --json), or a coefficient table.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { parseCsv } from '../../shared/stats/csv.js';
import { isUserError } from '../../shared/errors/index.js';
import { siteDatasetFromRows } from '../../shared/tabular/dataset.js';
import { fitTabular, type Family, type Fitted } from '../../shared/tabular/fit.js';
import { localTransport } from '../../shared/tabular/site.js';

interface Options {
  site: string[]; outcome: string; family: string; columns: string[];
  lambda?: string; folds: string; rule: string; iccPair?: string[]; iccMin: string; pearsonMax?: string;
  seed: string; minCell: string; excludeRefusing?: boolean; idColumn: string; nlambda: string;
  rounds: string; depth: string; learningRate: string; gbdtLambda: string; gamma: string; minChildWeight: string; bins: string;
  json?: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter((s) => s.length > 0)];
}
function num(text: string, flag: string, check: (v: number) => boolean, what: string): number {
  const v = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(v) || !check(v)) throw new CliError(`${flag} must be ${what}, got "${text}"`, 2);
  return v;
}
const int = (t: string, flag: string, min: number) => num(t, flag, (v) => Number.isInteger(v) && v >= min, `an integer >= ${min}`);

function fmt(v: number | null, digits = 4): string {
  if (v === null) return '—';
  return Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(digits) : v.toExponential(2);
}

function table(f: Fitted): string {
  const lines = [`family ${f.family}: n = ${f.n}, events = ${f.events}; ${f.round_trips} round trips, ${f.fit_ms} ms; converged: ${f.converged}`];
  if (f.lambda !== null) lines.push(`lambda = ${f.lambda.toPrecision(6)} (${f.lambda_rule})`);
  const s = f.selected;
  lines.push(`features: ${s.input.length} in, ${s.icc.length} after ICC, ${s.pearson.length} after correlation, ${s.model.length} in the model`);
  for (const [site, d] of Object.entries(f.dropped_missing)) if (d > 0) lines.push(`site ${site}: ${d} rows dropped (missing values)`);
  for (const e of f.excluded_sites) lines.push(`excluded: ${e.message}`);
  if (f.separation?.detected) lines.push(`SEPARATION: ${f.separation.message}`);
  if (f.aliased?.length) lines.push(`aliased (collinear, not estimated): ${f.aliased.join(', ')}`);
  if (f.terms.length > 0) {
    const head = ['term', 'estimate', 'std.error', 'z', 'P', '95% CI'];
    const rows = f.terms.map((t) => [t.term, fmt(t.estimate), fmt(t.std_error), fmt(t.z, 3), t.p === null ? '—' : t.p < 0.001 ? '<0.001' : t.p.toFixed(3), t.ci ? `${fmt(t.ci[0])} to ${fmt(t.ci[1])}` : '—']);
    const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
    const line = (c: string[]) => c.map((x, k) => x.padEnd(w[k]!)).join('  ').trimEnd();
    lines.push(line(head), ...rows.map(line));
  }
  if (f.gbdt) lines.push(`${f.gbdt.trees.length} trees, depth <= ${f.gbdt.params.maxDepth}; ${f.gbdt.smallNodes} nodes left unsplit by the min_cell rule`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('fit')
    .description('fit a federated tabular model (logistic, lasso_logistic, gbdt) over site tables, combining only the sums each site would send')
    .requiredOption('--site <file>', 'one site\'s CSV (repeat per site)', (v: string, p: string[] = []) => [...p, v])
    .requiredOption('--outcome <col>', 'outcome column (0/1)')
    .requiredOption('--family <family>', 'logistic, lasso_logistic or gbdt')
    .requiredOption('--columns <cols>', 'predictor columns, comma-separated (repeatable)', collect)
    .option('--lambda <l>', 'lasso: fixed lambda (otherwise chosen by federated K-fold CV)')
    .option('--folds <k>', 'lasso: cross-validation folds', '10')
    .option('--rule <rule>', 'lasso: min or 1se', 'min')
    .option('--nlambda <n>', 'lasso: length of the lambda path', '100')
    .option('--icc-pair <pairs>', 'feature:second_delineation_column pairs for the ICC filter', collect)
    .option('--icc-min <v>', 'keep features with ICC(2,1) >= v', '0.75')
    .option('--pearson-max <v>', 'redundancy filter: drop a feature with |r| > v to a kept one (default 0.9 for lasso_logistic)')
    .option('--seed <s>', 'seed of the CV fold hash', '1')
    .option('--min-cell <n>', 'disclosure control: smallest number of cases a site sends sums over', '5')
    .option('--exclude-refusing', 'drop a site that refuses the first request (e.g. below min_cell) instead of failing')
    .option('--id-column <col>', 'case id column (fold assignment)', 'case_id')
    .option('--rounds <n>', 'gbdt: boosting rounds', '100')
    .option('--depth <d>', 'gbdt: maximum tree depth', '3')
    .option('--learning-rate <e>', 'gbdt: learning rate', '0.1')
    .option('--gbdt-lambda <l>', 'gbdt: L2 regularisation of leaf weights', '1')
    .option('--gamma <g>', 'gbdt: minimum loss reduction to split', '0')
    .option('--min-child-weight <w>', 'gbdt: minimum Hessian sum in a child', '1')
    .option('--bins <b>', 'gbdt: histogram bins per feature', '32')
    .option('--json', 'print the fitted.<model> object as JSON')
    .action(async (o: Options) => {
      const family = o.family as Family;
      if (!['logistic', 'lasso_logistic', 'gbdt'].includes(family)) throw new CliError(`--family must be logistic, lasso_logistic or gbdt, got "${o.family}"`, 2);
      if (o.rule !== 'min' && o.rule !== '1se') throw new CliError(`--rule must be min or 1se, got "${o.rule}"`, 2);
      const names = new Set<string>();
      const sites = o.site.map((file) => {
        let text: string;
        try { text = readFileSync(file, 'utf8'); } catch (err) { throw new CliError(`cannot read --site ${file}: ${(err as Error).message}`, 2, { cause: err }); }
        let rows: Record<string, string>[];
        try { rows = parseCsv(text, file); } catch (err) { throw new CliError((err as Error).message, 2, { cause: err }); }
        let name = basename(file).replace(/\.csv$/i, '');
        while (names.has(name)) name += "'";
        names.add(name);
        return siteDatasetFromRows(name, rows, o.idColumn);
      });
      const iccPairs: Record<string, string> = {};
      for (const p of o.iccPair ?? []) {
        const [a, b] = p.split(':').map((s) => s.trim());
        if (!a || !b) throw new CliError(`--icc-pair: expected FEATURE:SECOND_COLUMN, got "${p}"`, 2);
        iccPairs[a] = b;
      }
      const minCell = int(o.minCell, '--min-cell', 1);
      try {
        const fitted = await fitTabular(localTransport(sites, { minCell }), {
          family, outcome: o.outcome, columns: o.columns,
          ...(Object.keys(iccPairs).length ? { iccPairs } : {}),
          iccMin: num(o.iccMin, '--icc-min', (v) => v >= 0 && v <= 1, 'between 0 and 1'),
          ...(o.pearsonMax !== undefined ? { pearsonMax: num(o.pearsonMax, '--pearson-max', (v) => v > 0 && v <= 1, 'in (0, 1]') } : {}),
          ...(o.lambda !== undefined ? { lambda: num(o.lambda, '--lambda', (v) => v > 0, 'a positive number') } : {}),
          folds: int(o.folds, '--folds', 3), rule: o.rule, seed: int(o.seed, '--seed', 0), nlambda: int(o.nlambda, '--nlambda', 2),
          gbdt: {
            rounds: int(o.rounds, '--rounds', 1), maxDepth: int(o.depth, '--depth', 1),
            learningRate: num(o.learningRate, '--learning-rate', (v) => v > 0 && v <= 1, 'in (0, 1]'),
            lambda: num(o.gbdtLambda, '--gbdt-lambda', (v) => v >= 0, '>= 0'), gamma: num(o.gamma, '--gamma', (v) => v >= 0, '>= 0'),
            minChildWeight: num(o.minChildWeight, '--min-child-weight', (v) => v >= 0, '>= 0'), bins: int(o.bins, '--bins', 2),
          },
          minCell, onRefusal: o.excludeRefusing ? 'exclude' : 'fail',
        });
        console.log(o.json ? JSON.stringify(fitted, null, 2) : table(fitted));
      } catch (err) {
        if (isUserError(err)) throw new CliError(err.message, 2, { cause: err });
        throw err;
      }
    });
}
