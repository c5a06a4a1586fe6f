// The checks `fl site` runs before it dials the coordinator (issue 13, item 5 "at agent start"):
// leakage between cohorts and between modalities of one case, and paths that leave the data root,
// refuse the start with every row listed; image facts and pixel hashes are cached so the datasets
// and a restart reuse them instead of decoding the archive again.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { grayPng8 } from '../test/helpers/test-images.js';
import { ManifestError } from './data/manifest.js';
import { createLocalTrainer, siteCacheDir, startCheck } from './local-trainer.js';
import { openSiteDataset } from './data/dataset.js';
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

const top = mkdtempSync(join(tmpdir(), 'fl-start-check-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

/** A site folder with eight distinct images, img/g0..g7.png. */
function site(name: string): string {
  const dir = join(top, name);
  mkdirSync(join(dir, 'img'), { recursive: true });
  for (let i = 0; i < 8; i++) writeFileSync(join(dir, `img/g${i}.png`), grayPng8(24, 24, (x, y) => (x * 7 + y * 3 + i * 29) % 256));
  return dir;
}

/** Records of a silent-but-counting logger. */
function recorder() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

const HEADER = 'case_id,cohort,label,gsus,ceus';
const rows = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

describe('fl site start check', () => {
  it('refuses identical pixels across cohorts and as two modalities of one case, listing the rows', async () => {
    const dir = site('leak');
    // The same pixels re-encoded (different PNG bytes): a copy of g0 written with another zlib level.
    const g0 = readFileSync(join(dir, 'img/g0.png'));
    const recoded = reencode(g0);
    expect(recoded.equals(g0)).toBe(false);
    writeFileSync(join(dir, 'img/copy-of-g0.png'), recoded);
    writeFileSync(join(dir, 'manifest.csv'), [
      HEADER,
      'A,train,0,img/g0.png,img/g1.png',
      'B,test,1,img/copy-of-g0.png,img/g2.png', // leakage between train and test
      'C,train,1,img/g3.png,img/g3.png', // one file as gsus and ceus
      'D,validation,0,img/g4.png,img/g5.png',
    ].join('\n') + '\n');
    const { log, lines } = recorder();
    const err = await createLocalTrainer({ manifest: join(dir, 'manifest.csv'), backend: 'cpu', log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    const m = (err as Error).message;
    expect(m).toContain('2 problems');
    expect(m).toContain('row 2, column gsus: identical image in rows of different cohorts (leakage between train and test): row 2 (gsus, train), row 3 (gsus, test)');
    expect(m).toContain('row 4, column ceus: the same image is given for two modalities of one case: row 4 (ceus, train), row 4 (gsus, train)');
    expect(lines.some((l) => l.msg === 'site agent refusing to start: the manifest has problems' && l.exit === 2)).toBe(true);
  });

  it('refuses paths that leave the data root, symlinks included', async () => {
    const dir = site('escape');
    for (const k of [1, 2, 3]) writeFileSync(join(top, `elsewhere${k}.png`), grayPng8(24, 24, (x, y) => (x * 9 + y * k) % 256));
    symlinkSync(join(top, 'elsewhere3.png'), join(dir, 'img/link.png'));
    writeFileSync(join(dir, 'manifest.csv'), [
      HEADER,
      'A,train,0,img/g0.png,img/g1.png',
      'B,train,1,../elsewhere1.png,img/g2.png',
      `C,test,0,img/g3.png,${join(top, 'elsewhere2.png')}`,
      'D,test,1,img/link.png,img/g4.png',
    ].join('\n') + '\n');
    const err = await startCheck({ manifest: join(dir, 'manifest.csv'), log: pino({ level: 'silent' }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    const problems = (err as ManifestError).problems.map((p) => `${p.line}:${p.column}`);
    expect(problems).toEqual(['3:gsus', '4:ceus', '5:gsus']);
    expect((err as ManifestError).problems.every((p) => /leads outside the site folder/.test(p.message))).toBe(true);
    // With the parent folder as the configured data root the same manifest passes.
    const ok = await startCheck({ manifest: join(dir, 'manifest.csv'), dataRoot: top, log: pino({ level: 'silent' }) });
    expect(ok.problems).toEqual([]);
  });

  it('caches facts and hashes: the dataset and a restart do not hash (or decode) the archive again', async () => {
    const dir = site('reuse');
    const manifest = join(dir, 'manifest.csv');
    writeFileSync(manifest, [HEADER, ...rows(4, (i) => `S${i},${i < 2 ? 'train' : 'test'},${i % 2},img/g${2 * i}.png,img/g${2 * i + 1}.png`)].join('\n') + '\n');
    const first = recorder();
    await startCheck({ manifest, log: first.log });
    const done = (ls: Record<string, unknown>[]) => ls.find((l) => typeof l.msg === 'string' && l.msg.startsWith('manifest checked'))!;
    expect([done(first.lines).images, done(first.lines).decoded]).toEqual([8, 8]);
    const factsDir = join(siteCacheDir({ manifest }), 'facts');
    expect(readdirSync(factsDir).length).toBe(8);

    const second = recorder();
    await startCheck({ manifest, log: second.log });
    expect([done(second.lines).images, done(second.lines).decoded, done(second.lines).from_cache]).toEqual([8, 0, 8]);

    // The cached pixel hash is what the checks use: make S2's gsus "identical" to S0's gsus in the
    // cache only. A check that decoded again would not see it; the cached facts make it leakage.
    const facts = readdirSync(factsDir).map((f) => ({ f, j: JSON.parse(readFileSync(join(factsDir, f), 'utf8')) as { pixelHash: string } }));
    const hashOf = (file: string) => createHashHex(readFileSync(join(dir, file)));
    const s0 = facts.find((x) => x.f.startsWith(hashOf('img/g0.png')))!;
    const s2 = facts.find((x) => x.f.startsWith(hashOf('img/g4.png')))!;
    writeFileSync(join(factsDir, s2.f), JSON.stringify({ ...s2.j, pixelHash: s0.j.pixelHash }));
    const err = await startCheck({ manifest, log: pino({ level: 'silent' }) }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('leakage between train and test): row 2 (gsus, train), row 4 (gsus, test)');
    // The dataset reads the same cache (same default folder): it sees the same facts.
    await expect(openSiteDataset(manifest, { modalities: ['gsus', 'ceus'], inputSize: 16, cacheDir: siteCacheDir({ manifest }) })).rejects.toThrow(/leakage between train and test/);
  });

  it('`fl site` exits 2 before dialling, with the rows listed', () => {
    const dir = site('cli');
    writeFileSync(join(dir, 'manifest.csv'), [HEADER, 'A,train,0,img/g0.png,img/g1.png', 'B,test,1,img/g0.png,img/g2.png'].join('\n') + '\n');
    // A coordinator address nobody listens on: the check must fail before any connection attempt.
    writeFileSync(join(dir, 'site.yaml'), 'study_id: s\nsite_id: site-1\ncoordinator: 127.0.0.1:9\nmanifest: manifest.csv\ninsecure: true\nbackend: cpu\n');
    const r = spawnSync(process.execPath, [join(HERE, '../bin/fl.js'), 'site', '--config', join(dir, 'site.yaml')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('row 2, column gsus: identical image in rows of different cohorts (leakage between train and test): row 2 (gsus, train), row 3 (gsus, test)');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

function createHashHex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The same PNG with its IDAT recompressed at another zlib level (same pixels, other bytes). */
function reencode(png: Buffer): Buffer {
  const chunks: { type: string; data: Buffer }[] = [];
  for (let off = 8; off < png.length;) {
    const len = png.readUInt32BE(off);
    chunks.push({ type: png.toString('latin1', off + 4, off + 8), data: png.subarray(off + 8, off + 8 + len) });
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const out: Buffer[] = [png.subarray(0, 8)];
  let wroteIdat = false;
  for (const c of chunks) {
    if (c.type === 'IDAT') {
      if (wroteIdat) continue;
      wroteIdat = true;
      out.push(chunk('IDAT', deflateSync(raw, { level: 1 })));
    } else out.push(chunk(c.type, c.data));
  }
  return Buffer.concat(out);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

describe('local training rounds (fl site --threads 2)', () => {
  it('the data-parallel workers start when the trainer first opens the model (one set, warmed) and every round reuses them; the log carries the round\'s time split', async () => {
    const { generateSites } = await import('../shared/synth/generate.js');
    const { bootedReplicaCount, closeIdleReplicas, idleReplicaCount } = await import('../shared/tfjs/parallel/data-parallel.js');
    const { buildModel } = await import('../shared/models/registry.js');
    const { modelToTensorSet } = await import('../shared/models/spec.js');
    const out = join(top, 'rounds');
    generateSites({ out, sites: 1, casesPerSite: 40, seed: 5, imageSize: 32 });
    const { log, lines } = recorder();
    await closeIdleReplicas();
    const trainer = await createLocalTrainer({ manifest: join(out, 'site-1', 'manifest.csv'), backend: 'wasm', log, threads: 2 });
    const config = { inputSize: 32, widths: [4, 8], headUnits: 8, dropout: 0 };
    const model = buildModel('ddfn', config);
    const global = modelToTensorSet(model);
    model.dispose();
    try {
      for (const round of [1, 2, 3]) {
        const res = await trainer.train({
          round, model: 'ddfn', architecture: 'ddfn', config, global, epochs: 1, batchSize: 8, learningRate: 1e-3, seed: 1, strategyParams: {},
        });
        expect(res.metrics.train_replicas).toBe(2);
        expect(Object.keys(res.metrics).filter((k) => k.startsWith('time_'))).toEqual([]);
        // one worker set, parked between rounds: a round that started new workers would leave two
        expect(idleReplicaCount()).toBe(1);
        // the worker booted when the trainer was created is the one that was used
        expect(bootedReplicaCount()).toBe(0);
      }
      const done = lines.filter((l) => l.msg === 'local training done');
      expect(done.map((l) => l.round)).toEqual([1, 2, 3]);
      for (const l of done) {
        for (const k of ['setup_s', 'data_s', 'step_s', 'validation_s']) expect(typeof l[k]).toBe('number');
      }
    } finally {
      await closeIdleReplicas();
    }
  }, 120_000);
});
