// `fl provision --add` reads the study name from the existing CA instead of asking for --study again.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from './provision.js';
import { runCli } from '../../test/helpers/cli.js';

describe('fl provision --add', () => {
  it('takes the study from the CA in --out; without a CA or --add it says what is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prov-'));
    try {
      const out = join(dir, 'pki');
      await runCli([register], ['provision', '--study', 'sln-x', '--sites', 'hosp-a', '--coordinator-host', 'localhost', '--out', out]);
      const text = await runCli([register], ['provision', '--add', '--sites', 'hosp-b', '--out', out, '--json']);
      const r = JSON.parse(text) as { createdCa: boolean; kits: { role: string; name: string }[] };
      expect(r.createdCa).toBe(false);
      expect(r.kits.map((k) => k.name)).toEqual(['hosp-b']);
      expect(existsSync(join(out, 'sites', 'hosp-b', 'site.yaml'))).toBe(true);
      await expect(runCli([register], ['provision', '--add', '--sites', 'x', '--out', join(dir, 'none')])).rejects.toThrow(/cannot read the study name from .*study\.json/);
      await expect(runCli([register], ['provision', '--sites', 'x', '--out', out])).rejects.toThrow(/--study <name> is required/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
