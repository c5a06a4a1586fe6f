// Secure aggregation with real processes (issue 17): a real `fl coordinator` and three real
// `fl site` processes over mutual TLS on loopback train a tfjs model on synthetic 32 px images for
// 2 rounds with `secure_aggregation` on. The study completes; every upload spooled on the
// coordinator's disk is a masked one (byte entropy > 7.9 bits/byte, where a plain float32 update
// is far below); the study log has one `secure_aggregation` record per round naming the
// participants, the threshold and the digests; `fl audit verify` passes and `fl audit replay`
// re-derives every round's aggregate from the masked uploads and the revealed seeds.
// Deterministic under load: it waits only on process exits, never on a time.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStudyFixture, type StudyFixture } from './helpers/study-fixture.js';
import { flRun, type Proc } from './helpers/processes.js';
import { decodeTensorFileHeader } from '../shared/tensor/file.js';
import { parseStudyReport } from '../shared/report/schema.js';

const SITES = ['site-1', 'site-2', 'site-3'];
const ROUNDS = 2;
let f: StudyFixture | null = null;

afterAll(() => f?.killAll());

function entropyBits(bytes: Uint8Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b]!++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / bytes.length) * Math.log2(c / bytes.length);
  return h;
}

async function exitOf(p: Proc, what: string): Promise<number | null> {
  const code = await p.exited;
  if (code !== 0) console.error(`${what} exited ${code}:\n${p.stderr.slice(-3000)}`);
  return code;
}

/** Every file below `dir` (recursive), as paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('secure aggregation across processes (mTLS)', () => {
  it('3 sites, 2 rounds: completes, spools only masked uploads, logs and replays every round', async () => {
    f = await createStudyFixture({ sites: SITES, casesPerSite: 40, study: 'secproc' });
    const dataDir = join(f.dir, 'coord');
    const cfg = f.coordinatorConfig({
      rounds: ROUNDS, min_sites: 3, outlier_norm_factor: 0,
      secure_aggregation: { enabled: true, threshold: 2, quantization: { clip: 1, bits: 30 } },
    }, dataDir);
    const coord = await f.startCoordinator(cfg);
    const sites = SITES.map((s) => f!.startSite(s, coord.port));
    expect(await exitOf(coord.proc, 'coordinator')).toBe(0);
    for (const [k, s] of sites.entries()) expect(await exitOf(s, SITES[k]!)).toBe(0);

    // The study completed, every round with all three sites.
    const report = JSON.parse(readFileSync(join(dataDir, 'report.json'), 'utf8'));
    parseStudyReport(report);
    expect(report.state).toBe('completed');
    expect(report.rounds.map((x: { state: string }) => x.state)).toEqual(Array(ROUNDS).fill('completed'));
    for (const round of report.rounds) expect([...round.models.ddfn.sites].sort()).toEqual(SITES);

    // The spool: one masked upload per site and round, each indistinguishable from uniform bytes.
    const uploads = filesUnder(join(dataDir, 'updates')).filter((p) => p.endsWith('.flt'));
    expect(uploads).toHaveLength(SITES.length * ROUNDS);
    const seen = new Set<string>();
    for (const p of uploads) {
      const raw = readFileSync(p);
      const { header, dataOffset } = decodeTensorFileHeader(raw, p);
      const bytes = new Uint8Array(raw.buffer, raw.byteOffset + dataOffset, raw.length - dataOffset);
      expect(bytes.length).toBeGreaterThan(4096); // enough bytes for the entropy estimate to mean something
      expect(entropyBits(bytes), p).toBeGreaterThan(7.9);
      seen.add(`${(header.meta as { site?: string }).site}/${p.split('/').at(-2)}`);
    }
    expect(seen.size).toBe(SITES.length * ROUNDS);
    // The check can fail: the global model (plain float32 weights) is far from uniform bytes.
    const ckpt = readFileSync(join(dataDir, 'checkpoints', 'ddfn', `round-${ROUNDS}.flt`));
    const ck = decodeTensorFileHeader(ckpt, 'checkpoint');
    expect(entropyBits(new Uint8Array(ckpt.buffer, ckpt.byteOffset + ck.dataOffset, ckpt.length - ck.dataOffset))).toBeLessThan(7.9);

    // The study log: a secure_aggregation record per round with participants, threshold, digests.
    const logPath = join(dataDir, 'audit', 'log.jsonl');
    expect(existsSync(logPath)).toBe(true);
    const records = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    const sa = records.filter((r) => r.type === 'secure_aggregation') as unknown as { round: number; survivors: string[]; dropped: string[]; session: { threshold: number }; upload_digests: Record<string, string>; aggregate_sha256: string }[];
    expect(sa).toHaveLength(ROUNDS);
    for (const r of sa) {
      expect([...r.survivors].sort()).toEqual(SITES);
      expect(r.dropped).toEqual([]);
      expect(r.session.threshold).toBe(2);
      expect(Object.keys(r.upload_digests)).toHaveLength(SITES.length);
      expect(r.aggregate_sha256).toMatch(/^[0-9a-f]{64}$/);
    }

    // fl audit verify: the log is intact; fl audit replay: every round re-derived from the masked uploads.
    const v = await flRun(['audit', 'verify', join(dataDir, 'audit')]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/intact/);
    const rp = await flRun(['audit', 'replay', join(dataDir, 'audit'), '--updates', join(dataDir, 'updates'), '--json']);
    expect(rp.code, rp.stdout + rp.stderr).toBe(0);
    const replay = JSON.parse(rp.stdout) as { ok: boolean; rounds: { round: number; status: string; message: string }[] };
    expect(replay.ok).toBe(true);
    expect(replay.rounds.map((r) => [r.round, r.status])).toEqual(Array.from({ length: ROUNDS }, (_, i) => [i + 1, 'ok']));
    for (const r of replay.rounds) expect(r.message).toMatch(/unmasked with the revealed seeds/);
  }, 600_000);
});
