// The site's tabular.sums handler: payloads are validated (errors name the field), the trainer's
// sums are sent as JSON the privacy guard accepts (numbers only), refusals are thrown with the
// site's reason, and the floor on min_cell is the site's.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { createTabularHandler } from './tabular-handler.js';
import { PrivacyGuard } from './privacy-guard.js';
import { getFamily } from '../shared/families/registry.js';
import type { SiteData, TabularTable } from '../shared/families/data.js';
import type { Trainer } from './trainer.js';
import type { PhaseRequest } from '../shared/protocol/index.js';

const log = pino({ level: 'silent' });

function table(n: number, events: number): SiteData {
  const t = (cohort: 'train' | 'validation'): TabularTable => ({
    cohort, caseIds: Array.from({ length: n }, (_, i) => `c${i}`),
    labels: Float64Array.from({ length: n }, (_, i) => (i < events ? 1 : 0)),
    columns: new Map([['age', Float64Array.from({ length: n }, (_, i) => 40 + ((i * 7) % 30))]]),
  });
  return { site: 'site-a', async images() { throw new Error('none'); }, async table() { return { forTraining: () => t('train') as TabularTable & { cohort: 'train' }, forEvaluation: (c) => t(c as 'validation') }; } };
}

function trainer(data: SiteData): Trainer {
  return {
    backend: 'cpu', cohortCounts: () => ({ train: 1 }),
    async train() { throw new Error('no'); }, async evaluate() { return []; },
    async sums(req) {
      const m = await getFamily(req.family ?? req.architecture).openSite({ name: req.model, architecture: req.architecture, config: req.config }, data);
      return m.sums!(req.request);
    },
  };
}

const request = (payload: unknown, phase = 'tabular.sums'): PhaseRequest => ({
  type: 'phase',
  exchangeId: 'tabular.sums-1-x', studyId: 's', round: 1, model: 'clinical', phase, deadlineUnixMs: Date.now() + 1000,
  payload: new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
});
const spec = { family: 'logistic', architecture: 'logistic', config: { inputs: { columns: ['age'] } } };
const moments = { kind: 'moments', outcome: 'label', columns: ['age'], subsets: [{ kind: 'all' }] };

describe('tabular.sums handler', () => {
  it('answers with sums the privacy guard lets through', async () => {
    const h = createTabularHandler(trainer(table(20, 8)), log);
    const out = await h(request({ spec, dependencies: [], request: moments }));
    const json = JSON.parse(new TextDecoder().decode(out));
    expect(json.subsets[0].n).toBe(20);
    expect(json.subsets[0].events).toBe(8);
    expect(json).not.toHaveProperty('site');
    const guard = new PrivacyGuard({ studyId: 's', siteId: 'site-a', log });
    expect(() => guard.guardOutbound('phase-reply', { exchangeId: 'tabular.sums-1-x', phase: 'tabular.sums', payload: out, error: '' })).not.toThrow();
  });

  it('refuses malformed payloads naming the field, and sums over fewer than the site floor of min_cell', async () => {
    const h = createTabularHandler(trainer(table(20, 3)), log);
    await expect(h(request('{not json'))).rejects.toThrow(/payload is not JSON/);
    await expect(h(request({ spec, dependencies: [], request: { ...moments, subsets: [{ kind: 'fold', fold: 0 }] } }))).rejects.toThrow(/field "request.subsets.0/);
    await expect(h(request({ spec, dependencies: [], request: moments }, 'tabular.rows'))).rejects.toThrow(/unknown tabular phase "tabular.rows"/);
    const strict = createTabularHandler(trainer(table(20, 8)), log, { models: ['ddfn'] });
    await expect(strict(request({ spec, dependencies: [], request: moments }))).rejects.toThrow(/model "clinical" \(logistic, logistic\) is not in policy.training.models \[ddfn\]/);
    await expect(createTabularHandler(trainer(table(20, 8)), log, { models: ['logistic'] })(request({ spec, dependencies: [], request: moments }))).resolves.toBeInstanceOf(Uint8Array);
    // 3 events < 5; a study config asking for min_cell 1 does not lower the site's floor.
    await expect(h(request({ spec: { ...spec, config: { ...spec.config, min_cell: 1 } }, dependencies: [], request: moments }))).rejects.toThrow(/min_cell: site site-a: .*3 events .*fewer than min_cell = 5/);
  });
});
