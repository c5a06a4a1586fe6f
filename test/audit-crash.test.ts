// SIGKILL during appends: a child process appends to the study log in a loop and is killed
// with -9 at arbitrary moments. Every acknowledged record must survive, the log must verify
// (a torn last line reported, never accepted), and the next writer must recover and go on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { generateSigningKey, saveSigningKey } from '../shared/audit/keys.js';
import { verifyLogDir } from '../shared/audit/verify-dir.js';
import { flRun } from './helpers/processes.js';

const DIST = fileURLToPath(new URL('../dist/shared/audit', import.meta.url));

const CHILD = `
import { StudyLog } from ${JSON.stringify(pathToFileURL(join(DIST, 'study-log.js')).href)};
import { loadSigningKey } from ${JSON.stringify(pathToFileURL(join(DIST, 'keys.js')).href)};
import { createHash } from 'node:crypto';
const [dir, keyPath] = process.argv.slice(1);
const log = await StudyLog.open(dir, { signingKey: await loadSigningKey(keyPath), studyId: 'crash' });
const h = (s) => createHash('sha256').update(s).digest('hex');
for (let i = 0; ; i++) {
  const batch = [];
  for (let k = 0; k <= i % 3; k++) batch.push({ type: 'update_rejected', round: i, model: 'ddfn', site: 'site-' + k, reason: 'x'.repeat(2000 + (i * 7919) % 60000), note: h(String(i)) });
  const r = await log.append(batch);
  process.stdout.write(r.seq + '\\n');
}
`;

describe('study log under SIGKILL', () => {
  let tmp: string;
  beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'fl-audit-crash-')); });
  afterAll(async () => rm(tmp, { recursive: true, force: true }));

  it('every acknowledged record survives, and the log verifies after each kill', async () => {
    const dir = join(tmp, 'audit');
    const keyPath = join(tmp, 'key.pem');
    await saveSigningKey(keyPath, generateSigningKey());
    let acked = -1;
    let torn = 0;
    for (let cycle = 0; cycle < 4; cycle++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir, keyPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise((r) => child.once('exit', r));
      const target = 20 + cycle * 13;
      const t0 = Date.now();
      while (out.split('\n').filter(Boolean).length < target) {
        if (child.exitCode !== null) throw new Error(`appender exited early: ${err}`);
        if (Date.now() - t0 > 20_000) throw new Error(`appender too slow: ${out.length} / ${err}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, cycle * 3)); // kill at varying moments mid-append
      child.kill('SIGKILL');
      await exited;
      const seqs = out.split('\n').filter(Boolean).map(Number);
      acked = Math.max(acked, ...seqs);
      const v = await verifyLogDir(dir);
      expect(v.file.failure).toBeNull();
      expect(v.ok).toBe(true);
      // Everything acknowledged is there (and signed: a record is acked after its head is written).
      expect(v.file.records).toBeGreaterThan(acked);
      expect(v.file.signedSize).toBeGreaterThan(acked);
      if (v.file.tornTail) {
        torn++;
        expect(v.file.warnings.join('\n')).toMatch(/torn last line/);
      }
    }
    const cli = await flRun(['audit', 'verify', dir, '--json']);
    expect(cli.code).toBe(0);
    const j = JSON.parse(cli.stdout) as { ok: boolean; file: { records: number } };
    expect(j.ok).toBe(true);
    expect(j.file.records).toBeGreaterThan(acked);
    console.log(`SIGKILL test: ${acked + 1} acknowledged records over 4 kills, ${torn} torn tail(s) seen`);
  });
});
