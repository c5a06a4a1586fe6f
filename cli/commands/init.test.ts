// `fl init` writes examples that the real schemas accept, with every model config key and the
// strategy and architecture named in them known to their registries.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { register, COORDINATOR_EXAMPLE, SITE_EXAMPLE } from './init.js';
import { runCli } from '../../test/helpers/cli.js';
import { coordinatorFileSchema } from '../../shared/config/study.js';
import { siteSchema } from '../../shared/config/site.js';
import { ModelConfigSchema, parseModelConfig } from '../../shared/models/config.js';
import { listModels } from '../../shared/models/registry.js';
import { strategyConfigSchema } from '../../shared/strategies/registry.js';

describe('fl init', () => {
  it('coordinator example validates, names every model config key and only known architectures', () => {
    const file = coordinatorFileSchema.parse(parse(COORDINATOR_EXAMPLE));
    expect(file.study.models.map((m) => m.name)).toEqual(['ddfn', 'gsus_only', 'ceus_only']);
    const known = listModels().map((m) => m.name);
    for (const m of file.study.models) {
      expect(known).toContain(m.architecture);
      parseModelConfig(m.config, m.name);
    }
    // The full example config shows every key with its default.
    expect(Object.keys(file.study.models[0]!.config).sort()).toEqual(Object.keys(ModelConfigSchema.shape).sort());
    expect(parseModelConfig(file.study.models[0]!.config)).toEqual(parseModelConfig({}));
    expect(strategyConfigSchema.safeParse(file.study.strategy).success).toBe(true);
    // The commented http block parses too once uncommented.
    const withHttp = COORDINATOR_EXAMPLE.replace(/^ {2}# (http:|  listen:|  token:)/gm, '  $1');
    expect(coordinatorFileSchema.parse(parse(withHttp)).coordinator.http).toEqual({ listen: { host: '127.0.0.1', port: 9464 }, token: 'change-me-to-a-long-random-string' });
  });

  it('site example validates', () => {
    const cfg = siteSchema.parse(parse(SITE_EXAMPLE));
    expect(cfg.site_id).toBe('hosp-a');
    expect(cfg.backend).toBe('auto');
  });

  it('writes --out, refuses to overwrite without --force, rejects other kinds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'init-'));
    try {
      const out = join(dir, 'c.yaml');
      await runCli([register], ['init', 'coordinator', '--out', out]);
      expect(readFileSync(out, 'utf8')).toBe(COORDINATOR_EXAMPLE);
      expect(statSync(out).mode & 0o077).toBe(0);
      await expect(runCli([register], ['init', 'site', '--out', out])).rejects.toThrow(/exists; use --force/);
      await runCli([register], ['init', 'site', '--out', out, '--force']);
      expect(readFileSync(out, 'utf8')).toBe(SITE_EXAMPLE);
      await expect(runCli([register], ['init', 'nats'])).rejects.toThrow(/expected "coordinator" or "site"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
