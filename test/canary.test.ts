// The privacy guarantee, checked on the wire: a unique byte pattern (a canary) is planted in every
// image file and in every case id of a site; two real site-agent processes train, are scored on
// validation, receive a freeze notice and score held-out cohorts, all through a loopback TCP proxy
// that records every byte they send. Plain-text transport here so the proxy sees the content (in
// production the same bytes travel inside mutual TLS). None of the canary's forms may appear.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { pino } from 'pino';
import { fl, flRun, type Proc } from './helpers/processes.js';
import { startCapturingProxy } from './helpers/tcp-proxy.js';
import { freePort } from './helpers/processes.js';
import { startCoordinator } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { initialModels } from '../coordinator/initial-models.js';

const procs: Proc[] = [];
afterAll(() => procs.forEach((p) => p.child.exitCode === null && p.child.kill('SIGKILL')));

/** Inserts a tEXt chunk (keyword "Comment") before IEND. */
function withTextChunk(png: Buffer, text: string): Buffer {
  const iend = png.lastIndexOf(Buffer.from('IEND', 'latin1')) - 4;
  const data = Buffer.concat([Buffer.from('Comment\0', 'latin1'), Buffer.from(text, 'latin1')]);
  const typeAndData = Buffer.concat([Buffer.from('tEXt', 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([png.subarray(0, iend), len, typeAndData, crc, png.subarray(iend)]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

describe('no image byte leaves a site', () => {
  it('a canary planted in images and case ids never appears in anything the agents send', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-'));
    const canary = `CANARY${randomBytes(6).toString('hex').toUpperCase()}`;
    const r = await flRun(['synth', '--out', join(dir, 'data'), '--sites', '2', '--cases-per-site', '40', '--seed', '9', '--image-size', '32']);
    expect(r.code, r.stderr).toBe(0);
    for (const site of ['site-1', 'site-2']) {
      const sdir = join(dir, 'data', site);
      const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
      for (const f of walk(sdir).filter((f) => f.endsWith('.png'))) writeFileSync(f, withTextChunk(readFileSync(f), `${canary} patient image`));
      const manifest = join(sdir, 'manifest.csv');
      const lines = readFileSync(manifest, 'utf8').split('\n');
      writeFileSync(manifest, [lines[0], ...lines.slice(1).map((l) => (l ? `${canary}-${l}` : l))].join('\n'));
    }
    const log = pino({ level: 'silent' });
    const bulkPort = await freePort();
    const bulkProxy = await startCapturingProxy(bulkPort);
    const file = coordinatorFileSchema.parse({
      study: {
        id: 'canary', rounds: 1, min_sites: 2, sites: ['site-1', 'site-2'], round_deadline_s: 120,
        models: [{ name: 'ddfn', architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8], seed: 1 } }],
        training: { epochs: 1, batch_size: 8, learning_rate: 0.002, seed: 2 },
      },
      // The bulk channel (update and model bytes) goes through a capturing proxy of its own.
      coordinator: { listen: '127.0.0.1:0', data_dir: join(dir, 'coord'), insecure: true, bulk_port: bulkPort, bulk_advertised_port: bulkProxy.port },
    });
    let heldOutCases = 0;
    let modelBytes = 0;
    const handle = await startCoordinator(file, {
      log, initialModels,
      afterTraining: async ({ handle: h }) => {
        const g = h.store.get('ddfn');
        modelBytes = g.set.data.byteLength;
        const ref = { studyId: 'canary', model: 'ddfn', round: g.version, version: g.version, digest: g.digest };
        const val = await h.evaluation.request({ sites: ['site-1', 'site-2'], models: [{ ref, threshold: 0.5 }], cohorts: ['validation'], heldOut: false, modelConfigs: h.modelConfigs, round: 1, deadlineMs: 60_000 });
        expect(val.results.size).toBe(2);
        for (const s of ['site-1', 'site-2']) h.sites.send(s, { type: 'freeze', studyId: 'canary', models: [{ ref, threshold: 0.5 }], logSeq: 1, recordHash: 'cd'.repeat(32) });
        const held = await h.evaluation.request({ sites: ['site-1', 'site-2'], models: [{ ref, threshold: 0.5 }], cohorts: ['test', 'prospective'], heldOut: true, modelConfigs: h.modelConfigs, round: 1, deadlineMs: 60_000 });
        expect([...held.failures.values()]).toEqual([]);
        heldOutCases = [...held.results.values()].reduce((n, x) => n + x.predictions.length, 0);
        return {};
      },
    });
    const proxy = await startCapturingProxy(handle.port);
    for (const site of ['site-1', 'site-2']) {
      const cfg = join(dir, `${site}.yaml`);
      writeFileSync(cfg, stringify({
        study_id: 'canary', site_id: site, coordinator: `127.0.0.1:${proxy.port}`, manifest: join(dir, 'data', site, 'manifest.csv'),
        insecure: true, pseudonym_secret: `a-secret-for-${site}-only`, work_dir: join(dir, 'work', site),
      }));
      procs.push(fl(['site', '--config', cfg, '--insecure']));
    }
    const outcome = await handle.done;
    await handle.close();
    await Promise.all(procs.map((p) => p.exited));
    await proxy.close();
    await bulkProxy.close();
    expect(outcome.state).toBe('completed');
    expect(heldOutCases).toBeGreaterThan(0);

    const sent = Buffer.concat([proxy.upstream(), bulkProxy.upstream()]);
    expect(bulkProxy.upstream().length).toBeGreaterThan(2 * modelBytes); // both sites' updates really went through the bulk proxy
    const forms = [
      Buffer.from(canary, 'latin1'), Buffer.from(canary.toLowerCase(), 'latin1'), Buffer.from(canary, 'utf16le'),
      Buffer.from(Buffer.from(canary).toString('hex'), 'latin1'), Buffer.from(Buffer.from(canary).toString('base64').slice(0, 12), 'latin1'),
      Buffer.from('patient image', 'latin1'),
    ];
    for (const f of forms) expect(sent.indexOf(f), `found ${f.toString('latin1')} in the agents' traffic`).toBe(-1);
    // Positive controls: plain-text fields do show up in the capture (so the search would see the
    // canary if it leaked), and the planted bytes are in the files the agents read.
    expect(sent.indexOf(Buffer.from('a-secret-for-site-1-only'))).toBe(-1);
    expect(sent.indexOf(Buffer.from('site-1', 'latin1'))).toBeGreaterThan(-1);
    const anyPng = readdirSync(join(dir, 'data', 'site-1'), { recursive: true }).map(String).find((f) => f.endsWith('.png'))!;
    expect(readFileSync(join(dir, 'data', 'site-1', anyPng)).indexOf(Buffer.from(canary))).toBeGreaterThan(0);
    expect(createHash('sha256').update(sent).digest('hex')).toMatch(/^[0-9a-f]{64}$/);
  }, 300_000);
});
