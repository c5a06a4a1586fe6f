// Crash consistency with real processes (`fl coordinator`, `fl site` over mutual TLS on loopback),
// issues 20 and 18: each case is compared with one uninterrupted reference run of the same study
// (2 sites x 40 cases, 32 px, 2 rounds, held-out evaluation): same frozen digests, same
// predictions.csv, same report figures, one study_config, `fl audit verify` intact.
// Deterministic under load: every step waits for a log line or a study-log record, never a time.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, existsSync, cpSync, statSync, readdirSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createStudyFixture, type StudyFixture } from './helpers/study-fixture.js';
import { fl, flRun, freePort, waitFor, type Proc } from './helpers/processes.js';
import { startCapturingProxy } from './helpers/tcp-proxy.js';

const SITES = ['site-1', 'site-2'];
const STUDY = {
  rounds: 2, min_sites: 2, round_deadline_s: 300, join_timeout_s: 120, reconnect_grace_s: 20,
  evaluation: { selection: 'final', threshold: { rule: 'youden' }, bootstrap: 50, deadline_s: 300 },
};
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let f: StudyFixture;
let refDir: string;
let runNo = 0;

interface Run {
  dataDir: string;
  cfg: string;
  port: number;
  /** Per-run site work dirs (a site pins the coordinator's audit key; each run has its own). */
  work: (site: string) => Record<string, unknown>;
}

async function newRun(name: string, extra: Record<string, unknown> = {}, dataDir?: string): Promise<Run> {
  const port = await freePort();
  const dir = dataDir ?? join(f.dir, `${name}-${++runNo}`);
  const cfg = f.coordinatorConfig({ ...STUDY, ...extra }, dir, `127.0.0.1:${port}`);
  const workRoot = join(f.dir, `work-${name}-${runNo}`);
  return { dataDir: dir, cfg, port, work: (site) => ({ work_dir: join(workRoot, site) }) };
}

const startSites = (r: Run, port = r.port) => SITES.map((s) => f.startSite(s, port, {}, r.work(s)));
const logRecords = (dir: string): { type: string; [k: string]: unknown }[] => {
  const p = join(dir, 'audit', 'log.jsonl');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l) as { type: string }];
    } catch {
      return []; // a line being written
    }
  });
};
const hasRecord = (dir: string, type: string, n = 1) => logRecords(dir).filter((r) => r.type === type).length >= n;
const count = (dir: string, type: string) => logRecords(dir).filter((r) => r.type === type).length;
const report = (dir: string) => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
const sortedCsv = (dir: string) => readFileSync(join(dir, 'predictions.csv'), 'utf8').trim().split('\n').sort().join('\n');

/** The same study outcome as the uninterrupted run. */
async function expectSameAsReference(dir: string): Promise<void> {
  const a = report(dir);
  const ref = report(refDir);
  expect(a.state).toBe('completed');
  expect(a.frozen_models.map((m: { digest: string }) => m.digest)).toEqual(ref.frozen_models.map((m: { digest: string }) => m.digest));
  expect(a.thresholds).toEqual(ref.thresholds);
  expect(a.cohorts).toEqual(ref.cohorts);
  expect(sortedCsv(dir)).toBe(sortedCsv(refDir));
  expect(count(dir, 'study_config')).toBe(1);
  // One final report (a SIGTERM also writes a report of what was completed, state "stopped").
  expect(logRecords(dir).filter((x) => x.type === 'report' && x.state === 'completed')).toHaveLength(1);
  const v = await flRun(['audit', 'verify', join(dir, 'audit')]);
  expect(v.code, v.stdout + v.stderr).toBe(0);
  expect(v.stdout).toMatch(/intact/);
  // Every aggregate of the history replays from the spooled updates (a voided attempt is skipped).
  const rp = await flRun(['audit', 'replay', join(dir, 'audit'), '--updates', join(dir, 'updates')]);
  expect(rp.code, rp.stdout + rp.stderr).toBe(0);
  expect(rp.stdout.match(/OK/g)?.length).toBe(STUDY.rounds);
}

async function exitOf(p: Proc, what: string, timeoutMs = 150_000): Promise<number | null> {
  // A process that never exits is a finding in itself: name it and show its last words rather
  // than letting the test time out silently.
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => { timer = setTimeout(() => r('hung'), timeoutMs); });
  const first = await Promise.race([p.exited, hung]);
  clearTimeout(timer);
  if (first === 'hung') {
    p.child.kill('SIGKILL');
    throw new Error(`${what} did not exit within ${timeoutMs / 1000} s:\n${p.stderr.slice(-3000)}`);
  }
  const code = first;
  if (code !== 0) console.error(`${what} exited ${code}:\n${p.stderr.slice(-3000)}`);
  return code;
}

/** SIGKILL of the coordinator once `when()` holds, then a restart on the same port; the sites keep running. */
async function killAndRestart(name: string, when: (r: Run, coord: Proc) => boolean): Promise<{ r: Run; second: Proc; sites: Proc[] }> {
  const r = await newRun(name);
  const first = await f.startCoordinator(r.cfg);
  const sites = startSites(r);
  await waitFor(() => when(r, first.proc) || first.proc.child.exitCode !== null, 240_000, `${name}: the kill point`);
  expect(first.proc.child.exitCode, first.proc.stderr.slice(-2000)).toBeNull();
  first.proc.child.kill('SIGKILL');
  await first.proc.exited;
  const second = await f.startCoordinator(r.cfg);
  expect(await exitOf(second.proc, 'restarted coordinator')).toBe(0);
  for (const s of sites) expect(await exitOf(s, 'site')).toBe(0);
  return { r, second: second.proc, sites };
}

beforeAll(async () => {
  f = await createStudyFixture({ sites: SITES, casesPerSite: 40, study: 'crash2' });
  const r = await newRun('ref');
  refDir = r.dataDir;
  const c = await f.startCoordinator(r.cfg);
  const sites = startSites(r);
  expect(await exitOf(c.proc, 'reference coordinator')).toBe(0);
  for (const s of sites) expect(await exitOf(s, 'reference site')).toBe(0);
  expect(report(refDir).state).toBe('completed');
}, 300_000);
afterAll(() => f?.killAll());

describe('crash consistency with real processes', () => {
  it('SIGKILL at the freeze, then restart: the same frozen digests, predictions and report', async () => {
    const { r } = await killAndRestart('freeze', (run) => hasRecord(run.dataDir, 'models_frozen'));
    await expectSameAsReference(r.dataDir);
  }, 300_000);

  it('SIGKILL during held-out scoring, then restart: only the missing results are asked, same outcome', async () => {
    const { r } = await killAndRestart('heldout', (run) => hasRecord(run.dataDir, 'evaluation_requested'));
    await expectSameAsReference(r.dataDir);
    expect(count(r.dataDir, 'evaluation_result')).toBe(SITES.length);
  }, 300_000);

  it('SIGKILL after the report record, then restart: report.json and its record are not written again', async () => {
    const r = await newRun('report');
    const first = await f.startCoordinator(r.cfg);
    const sites = startSites(r);
    await waitFor(() => hasRecord(r.dataDir, 'report') || first.proc.child.exitCode !== null, 240_000, 'the report record');
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    const before = readFileSync(join(r.dataDir, 'report.json'));
    // The kill may land before or after state.json records the end (both are crashes "after the
    // report"): the restart either finishes the study or says it is complete; both exit 0.
    const second = fl(['coordinator', '--config', r.cfg], { FL_LOG_LEVEL: 'info' });
    f.procs.push(second);
    expect(await exitOf(second, 'restarted coordinator')).toBe(0);
    expect(second.stderr).toMatch(/finishing the study without writing it again|is complete/);
    // Sites that were still connected are told the study ended (or had been told before the kill).
    for (const s of sites) expect(await exitOf(s, 'site')).toBe(0);
    expect(sha(readFileSync(join(r.dataDir, 'report.json')))).toBe(sha(before));
    await expectSameAsReference(r.dataDir);
  }, 300_000);

  it('a crash between report.json and the end of the study (state "reporting"): the restart finishes without rewriting the report', async () => {
    // The on-disk state of a coordinator killed after the report record and before state.json said
    // "completed": the reference data dir with its state rolled back to the reporting phase.
    const dir = join(f.dir, 'reporting-copy');
    cpSync(refDir, dir, { recursive: true });
    const statePath = join(dir, 'state.json');
    const st = JSON.parse(readFileSync(statePath, 'utf8')) as { state: { phase: string; ended?: unknown } };
    delete st.state.ended;
    st.state.phase = 'reporting';
    writeFileSync(statePath, JSON.stringify({ sha256: sha(JSON.stringify(st.state)), state: st.state }) + '\n');
    const reportBefore = sha(readFileSync(join(dir, 'report.json')));
    const r = await newRun('reporting', {}, dir);
    const c = await f.startCoordinator(r.cfg);
    expect(await exitOf(c.proc, 'coordinator')).toBe(0);
    expect(sha(readFileSync(join(dir, 'report.json')))).toBe(reportBefore);
    expect(count(dir, 'report')).toBe(1);
    await expectSameAsReference(dir);
    // And now it is complete: a further start says so.
    const again = await flRun(['coordinator', '--config', r.cfg]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/is complete/);
  }, 300_000);

  it('re-running a finished study: exit 0, says where the report is, touches nothing', async () => {
    const snapshot = () => {
      const out: Record<string, string> = {};
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) walk(p);
          else out[p] = `${sha(readFileSync(p))} ${statSync(p).mtimeMs}`;
        }
      };
      walk(refDir);
      return out;
    };
    const before = snapshot();
    const r = await newRun('rerun', {}, refDir);
    const again = await flRun(['coordinator', '--config', r.cfg]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/is complete/);
    expect(again.stderr).toContain(join(refDir, 'report.json'));
    expect(snapshot()).toEqual(before);
  }, 120_000);

  it('a flipped byte in a checkpoint or in state.json: refused naming the file and both digests; nothing written', async () => {
    for (const target of ['checkpoint', 'state'] as const) {
      const dir = join(f.dir, `flip-${target}`);
      cpSync(refDir, dir, { recursive: true });
      // Roll the copy back to mid-study (phase "evaluating"), so the start would otherwise run.
      const statePath = join(dir, 'state.json');
      const st = JSON.parse(readFileSync(statePath, 'utf8')) as { state: { phase: string; ended?: unknown } };
      delete st.state.ended;
      st.state.phase = 'evaluating';
      writeFileSync(statePath, JSON.stringify({ sha256: sha(JSON.stringify(st.state)), state: st.state }) + '\n');
      const file = target === 'state' ? statePath : join(dir, 'checkpoints', 'ddfn', `round-${STUDY.rounds}.flt`);
      const bytes = readFileSync(file);
      const at = target === 'state' ? bytes.indexOf('"phase"') + 2 : bytes.length - 100;
      bytes[at] = bytes[at]! ^ 0x01;
      writeFileSync(file, bytes);
      const logBefore = readFileSync(join(dir, 'audit', 'log.jsonl'));
      const r = await newRun(`flip-${target}`, {}, dir);
      const res = await flRun(['coordinator', '--config', r.cfg]);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toContain(file);
      expect(res.stderr).toMatch(/expected (sha256|digest) [0-9a-f]{64}.*found [0-9a-f]{64}/s);
      expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace for a damaged file
      expect(readFileSync(join(dir, 'audit', 'log.jsonl')).equals(logBefore)).toBe(true);
      expect(readFileSync(file).equals(bytes)).toBe(true);
    }
  }, 120_000);
});


describe('restarts, transfers and stops with real processes', () => {
  it('SIGTERM of the coordinator mid-study, then start: completes with the sites that were running (none restarted)', async () => {
    const r = await newRun('sigterm');
    const first = await f.startCoordinator(r.cfg);
    const sites = startSites(r);
    const pids = sites.map((s) => s.child.pid);
    await waitFor(() => hasRecord(r.dataDir, 'round_aggregated') || first.proc.child.exitCode !== null, 240_000, 'round 1 aggregated');
    first.proc.child.kill('SIGTERM');
    expect(await exitOf(first.proc, 'coordinator after SIGTERM')).toBe(0);
    expect(first.proc.stderr).toMatch(/continues when the coordinator starts again/);
    expect(sites.every((s) => s.child.exitCode === null)).toBe(true); // the sites wait for it
    const second = await f.startCoordinator(r.cfg);
    expect(await exitOf(second.proc, 'restarted coordinator')).toBe(0);
    for (const s of sites) expect(await exitOf(s, 'site')).toBe(0);
    expect(sites.map((s) => s.child.pid)).toEqual(pids);
    for (const s of sites) expect(s.stderr).toMatch(/site agent exiting: the study completed/);
    await expectSameAsReference(r.dataDir);
    expect(count(r.dataDir, 'study_resumed')).toBe(1);
  }, 300_000);

  it('an admin stop ends "stopped", names the admin in the log, writes a report and ends the sites', async () => {
    // Many rounds, so the study is still running when the (separately started) `fl study stop`
    // process reaches the coordinator, however slow the machine.
    const r = await newRun('adminstop', { rounds: 50 });
    const c = await f.startCoordinator(r.cfg);
    const sites = startSites(r);
    await waitFor(() => hasRecord(r.dataDir, 'round_aggregated') || c.proc.child.exitCode !== null, 240_000, 'round 1 aggregated');
    const stop = await flRun(['study', 'stop', '--config', f.pki('admins/ops/admin.yaml'), '--coordinator', `localhost:${r.port}`]);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    expect(await exitOf(c.proc, 'coordinator')).toBe(0);
    for (const s of sites) expect(await exitOf(s, 'site')).toBe(0);
    for (const s of sites) expect(s.stderr).toMatch(/site agent exiting: the study was stopped/);
    const rep = report(r.dataDir);
    expect(rep.state).toBe('stopped');
    expect(rep.reason).toMatch(/admin "ops"/);
    const recs = logRecords(r.dataDir);
    expect(recs.find((x) => x.type === 'admin_action' && x.action === 'stop')?.admin).toBe('ops');
    expect(recs.find((x) => x.type === 'study_stopped')?.by).toMatch(/ops/);
    expect(count(r.dataDir, 'report')).toBe(1);
    const again = await flRun(['coordinator', '--config', r.cfg]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/over \(stopped\).*ops/);
  }, 300_000);

  it('a site killed and restarted within the grace gets its task again at once; the round keeps it', async () => {
    const r = await newRun('siterestart');
    const c = await f.startCoordinator(r.cfg);
    const sites = startSites(r);
    await waitFor(() => /"msg":"round started"/.test(c.proc.stderr), 240_000, 'round 1 to start');
    sites[1]!.child.kill('SIGKILL');
    await sites[1]!.exited;
    const again = f.startSite(SITES[1]!, r.port, {}, r.work(SITES[1]!));
    expect(await exitOf(c.proc, 'coordinator')).toBe(0);
    expect(await exitOf(sites[0]!, 'site-1')).toBe(0);
    expect(await exitOf(again, 'restarted site-2')).toBe(0);
    const rep = report(r.dataDir);
    expect(rep.rounds[0].state).toBe('completed');
    expect(rep.rounds[0].models.ddfn.sites.sort()).toEqual(SITES);
    await expectSameAsReference(r.dataDir);
  }, 300_000);

  it("a site's connection cut while it trains and again mid-upload: it reconnects, resumes and the study ends as uninterrupted", async () => {
    // The model bytes travel on the bulk channel (a second port): the sites are told to dial it
    // through a second proxy, so an upload can be cut on the wire it really uses.
    const bulkPort = await freePort();
    const bulkProxy = await startCapturingProxy(bulkPort);
    const r = await newRun('cut');
    const cfg = f.coordinatorConfig({ ...STUDY }, r.dataDir, `127.0.0.1:${r.port}`, { bulk_port: bulkPort, bulk_advertised_port: bulkProxy.port });
    const c = await f.startCoordinator(cfg);
    const proxy = await startCapturingProxy(r.port);
    try {
      const direct = f.startSite(SITES[0]!, r.port, {}, r.work(SITES[0]!));
      const viaProxy = f.startSite(SITES[1]!, proxy.port, {}, r.work(SITES[1]!));
      await waitFor(() => /"msg":"round started"/.test(c.proc.stderr), 240_000, 'round 1 to start');
      proxy.cut(); // the site's socket dies while it trains
      await waitFor(() => (viaProxy.stderr.match(/reconnecting/g) ?? []).length >= 1, 120_000, 'the site to notice the cut');
      // Then the bulk stream is cut once 6 KB of model bytes have crossed (an ~11 KB update is on the wire).
      bulkProxy.cutAfter(6000);
      expect(await exitOf(c.proc, 'coordinator')).toBe(0);
      expect(await exitOf(direct, 'site-1')).toBe(0);
      expect(await exitOf(viaProxy, 'site-2 (proxied)')).toBe(0);
      // The cut hit an upload: some site's bulk upload was interrupted and finished afterwards.
      expect(bulkProxy.upstream().length).toBeGreaterThan(6000);
      expect(direct.stderr + viaProxy.stderr).toMatch(/"msg":"[^"]*(interrupted|retrying|resum)[^"]*"/);
      const rep = report(r.dataDir);
      for (const round of rep.rounds) expect(round.models.ddfn.sites.sort()).toEqual(SITES);
      await expectSameAsReference(r.dataDir);
    } finally {
      await proxy.close();
      await bulkProxy.close();
    }
  }, 300_000);
});

describe('disk full (data_dir on a small tmpfs)', () => {
  it('stops with a non-zero exit naming the path, tells the sites; after space is freed a restart continues', async () => {
    const mnt = join(f.dir, 'tmpfs');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      console.warn(`SKIPPED (loudly): the disk-full test needs "mount -t tmpfs" (root): ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    try {
      const r = await newRun('diskfull', {}, join(mnt, 'coord'));
      const first = await f.startCoordinator(r.cfg);
      const sites = startSites(r);
      const code = await first.proc.exited; // bounded: the test's own timeout fails it if it hangs
      expect(code, first.proc.stderr.slice(-3000)).not.toBe(0);
      expect(first.proc.stderr).toMatch(/ENOSPC|no space/i);
      expect(first.proc.stderr).toContain(mnt);
      expect(sites.every((s) => s.child.exitCode === null)).toBe(true); // told to wait, not to end
      execFileSync('mount', ['-o', 'remount,size=4m', mnt], { stdio: 'pipe' });
      const second = await f.startCoordinator(r.cfg);
      expect(await exitOf(second.proc, 'restarted coordinator')).toBe(0);
      for (const s of sites) expect(await exitOf(s, 'site')).toBe(0);
      await expectSameAsReference(r.dataDir);
    } finally {
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    }
  }, 300_000);
});
