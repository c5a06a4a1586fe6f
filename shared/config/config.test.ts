import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, ConfigError } from './load.js';
import { coordinatorFileSchema } from './study.js';
import { siteSchema } from './site.js';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const p = join(dir, 'study.yaml');
  writeFileSync(p, text);
  return p;
}

const good = `
study:
  id: sln-demo
  rounds: 2
  min_sites: 2
  models:
    - name: ddfn
      config: { input_size: 32 }
coordinator:
  data_dir: runs/x
  insecure: true
`;

describe('study config', () => {
  it('accepts a valid file and fills defaults', () => {
    const c = loadConfigFile(coordinatorFileSchema, file(good));
    expect(c.study.training.epochs).toBe(1);
    expect(c.study.strategy.name).toBe('fedavg');
    expect(c.coordinator.listen).toBe('0.0.0.0:7443');
  });

  it('names the file and the field of every problem', () => {
    const p = file(good.replace('rounds: 2', 'rounds: -1').replace('min_sites: 2', 'min_sites: two'));
    try {
      loadConfigFile(coordinatorFileSchema, p);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.message).toContain(p);
      expect(e.message).toMatch(/study\.rounds: /);
      expect(e.message).toMatch(/study\.min_sites: /);
    }
  });

  it('rejects unknown fields, duplicate model names and a missing tls section', () => {
    expect(() => loadConfigFile(coordinatorFileSchema, file(good.replace('rounds: 2', 'rounds: 2\n  roundz: 3')))).toThrow(/study: Unrecognized key.*roundz/);
    expect(() => loadConfigFile(coordinatorFileSchema, file(good.replace('    - name: ddfn\n', '    - name: ddfn\n    - name: ddfn\n')))).toThrow(/study\.models\.1\.name: duplicate model name "ddfn"/);
    expect(() => loadConfigFile(coordinatorFileSchema, file(good.replace('  insecure: true\n', '')))).toThrow(/coordinator\.tls: required unless insecure/);
  });

  it('reports unreadable files and bad YAML with the path', () => {
    expect(() => loadConfigFile(coordinatorFileSchema, '/nonexistent/study.yaml')).toThrow(/\/nonexistent\/study.yaml: cannot read config file \(ENOENT\)/);
    expect(() => loadConfigFile(coordinatorFileSchema, file('study: [unclosed'))).toThrow(/not valid YAML/);
  });

  it('validates site configs', () => {
    const r = siteSchema.safeParse({ study_id: 's', site_id: 'bad id', coordinator: 'host', manifest: 'm.csv' });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['site_id', 'coordinator']));
  });
});
