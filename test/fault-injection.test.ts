// Fault injection with real processes over mutual TLS on loopback: the coordinator killed with
// SIGKILL mid-study and restarted (ends with the same global model as an uninterrupted run), a
// site killed mid-round (the round completes without it), and garbage bytes thrown at the
// coordinator's port while it serves a round.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createStudyFixture, type StudyFixture } from './helpers/study-fixture.js';
import { freePort, waitFor } from './helpers/processes.js';
import { parseStudyReport } from '../shared/report/schema.js';

const fixtures: StudyFixture[] = [];
const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
afterAll(() => fixtures.forEach((f) => f.killAll()));

const report = (dir: string) => { const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')); parseStudyReport(r); return r; };

describe('fault injection (real processes)', () => {
  it('SIGKILL of the coordinator after round 1: restarted, the study ends with the uninterrupted digest', async () => {
    const f = await createStudyFixture({ sites: ['site-1', 'site-2', 'site-3'], casesPerSite: 40, study: 'crash' });
    fixtures.push(f);
    const extra = { rounds: 3 };
    // Uninterrupted reference run.
    const refDir = join(f.dir, 'ref');
    const ref = await f.startCoordinator(f.coordinatorConfig(extra, refDir));
    const refSites = f.sites.map((s) => f.startSite(s, ref.port));
    expect(await ref.proc.exited, ref.proc.stderr.slice(-2000)).toBe(0);
    await Promise.all(refSites.map((p) => p.exited));

    // The same study, killed with SIGKILL once round 1 is completed, then restarted on the same port.
    const port = await freePort();
    const dataDir = join(f.dir, 'crashy');
    const cfg = f.coordinatorConfig(extra, dataDir, `127.0.0.1:${port}`);
    const first = await f.startCoordinator(cfg);
    const sites = f.sites.map((s) => f.startSite(s, port));
    await waitFor(() => /"round":1,"msg":"round saved"/.test(first.proc.stderr), 180_000, "round 1 to be saved");
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    const second = await f.startCoordinator(cfg);
    expect(await second.proc.exited, second.proc.stderr.slice(-3000)).toBe(0);
    await Promise.all(sites.map((p) => p.exited));
    expect(second.proc.stderr).toMatch(/resuming the study after the last completed round/);
    const r = report(dataDir);
    expect(r.state).toBe('completed');
    expect(r.rounds.map((x: { round: number }) => x.round)).toEqual([1, 2, 3]);
    expect(r.final_models.ddfn.digest).toBe(report(refDir).final_models.ddfn.digest);
  }, 600_000);

  it('a site killed mid-round is left out; a site 10 minutes off; garbage on the port does not disturb the round', async () => {
    const f = await createStudyFixture({ sites: ['site-1', 'site-2', 'site-3'], casesPerSite: 40, study: 'dropout' });
    fixtures.push(f);
    const dataDir = join(f.dir, 'coord');
    const { proc, port } = await f.startCoordinator(f.coordinatorConfig({ rounds: 2, min_sites: 2, round_deadline_s: 120, reconnect_grace_s: 2 }, dataDir));
    // site-2's clock is 10 minutes behind (libfaketime when installed): nothing depends on site clocks.
    const skew = existsSync(FAKETIME_LIB) ? { LD_PRELOAD: FAKETIME_LIB, FAKETIME: '-10m' } : undefined;
    if (!skew) console.warn('NOTICE: libfaketime is not installed (apt-get install faketime); the clock-skew part of this test is skipped');
    const sites = f.sites.map((s) => f.startSite(s, port, s === 'site-2' && skew ? skew : {}));
    await waitFor(() => /"msg":"round started"/.test(proc.stderr), 120_000, 'round 1 to start');
    sites[2]!.child.kill('SIGKILL'); // site-3 dies in the middle of round 1
    // Garbage bytes and a half-open TLS connection at the coordinator's port.
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(Buffer.from('this is not HTTP/2, not TLS, just garbage \x00\x01\x02\xff'.repeat(100)));
        setTimeout(() => { s.destroy(); resolve(); }, 200);
      });
      s.on('error', () => resolve());
    });
    expect(await proc.exited, proc.stderr.slice(-3000)).toBe(0);
    const r = report(dataDir);
    expect(r.state).toBe('completed');
    expect(r.rounds[0].state).toBe('completed_without_some_sites');
    expect(Object.keys(r.rounds[0].dropped)).toEqual(['site-3']);
    expect(r.rounds[0].models.ddfn.sites.sort()).toEqual(['site-1', 'site-2']);
    expect(r.rounds[1].participants.sort()).toEqual(['site-1', 'site-2']);
    expect(r.rounds[1].models.ddfn.sites.sort()).toEqual(['site-1', 'site-2']); // including the skewed clock
  }, 600_000);
});
