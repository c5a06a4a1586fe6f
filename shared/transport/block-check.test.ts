// The receive-side chunk check: the exponent-bit finiteness test against Number.isFinite on the same
// float32 values (every special class, random bit patterns, aligned and unaligned input), and the
// check-then-write order (nothing written for a bad chunk), in-process and on the worker pool.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { firstNonFinite, checkAndWrite } from './block-check.js';
import { cellSumsOfSquares } from '../aggregate/norms.js';
import { BlockPool } from './block-pool.js';

/** The reference: the first index whose float32 value Number.isFinite rejects. */
function reference(bytes: Uint8Array): number {
  const copy = new Uint8Array(bytes.length - (bytes.length % 4));
  copy.set(bytes.subarray(0, copy.length));
  const f = new Float32Array(copy.buffer);
  return f.findIndex((v) => !Number.isFinite(v));
}

const scratch = new Uint32Array(1 << 20);

describe('firstNonFinite', () => {
  const specials = [0, -0, 1, -1, 1e-45, -1e-45, 1.17549435e-38, 3.4028234e38, -3.4028234e38, Infinity, -Infinity, NaN];

  it('agrees with Number.isFinite on every special class, at every position of a 4-word step', () => {
    for (const s of specials) {
      for (let pos = 0; pos < 9; pos++) {
        const f = new Float32Array(9).fill(0.5);
        f[pos] = s;
        expect(firstNonFinite(new Uint8Array(f.buffer), scratch)).toBe(reference(new Uint8Array(f.buffer)));
      }
    }
  });

  it('agrees on random bit patterns (NaN payloads included), aligned and unaligned', () => {
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + (rnd() % 200);
      const backing = new Uint8Array(n * 4 + 3);
      const words = new Uint32Array(n);
      // Mostly finite values; now and then an all-ones exponent with a random sign and mantissa.
      for (let i = 0; i < n; i++) words[i] = rnd() % 40 === 0 ? (0x7f800000 | (rnd() & 0x807fffff)) >>> 0 : rnd() & 0xbf7fffff;
      const shift = trial % 4;
      backing.set(new Uint8Array(words.buffer), shift);
      const view = backing.subarray(shift, shift + n * 4);
      expect(firstNonFinite(view, scratch)).toBe(reference(view));
    }
  });
});

describe('checkAndWrite and the block pool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'block-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const chunk = () => {
    const f = new Float32Array(300_000);
    for (let i = 0; i < f.length; i++) f[i] = i * 0.25;
    return new Uint8Array(f.buffer);
  };
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it('writes a chunk at its position only when it is finite and matches its SHA-256', () => {
    const path = join(dir, 'a');
    writeFileSync(path, Buffer.alloc(16, 0xee));
    const fd = openSync(path, 'r+');
    try {
      const data = chunk();
      expect(checkAndWrite({ data, sha256: sha(data).replace(/^./, (c) => (c === '0' ? '1' : '0')), finite: true, fd, position: 16 }, scratch).kind).toBe('sha-mismatch');
      expect(readFileSync(path).length).toBe(16);
      const nan = new Uint8Array(data);
      new Float32Array(nan.buffer)[1234] = NaN;
      expect(checkAndWrite({ data: nan, sha256: sha(nan), finite: true, fd, position: 16 }, scratch)).toEqual({ kind: 'non-finite', index: 1234 });
      // Masked ring bytes: any bit pattern is allowed.
      expect(checkAndWrite({ data: nan, sha256: sha(nan), finite: false, fd, position: 16 }, scratch).kind).toBe('ok');
      expect(checkAndWrite({ data, sha256: sha(data), finite: true, fd, position: 16 }, scratch).kind).toBe('ok');
      const file = readFileSync(path);
      expect(file.subarray(0, 16).every((b) => b === 0xee)).toBe(true);
      expect(Buffer.compare(file.subarray(16), Buffer.from(data))).toBe(0);
    } finally {
      closeSync(fd);
    }
  });

  for (const kind of ['in-process', 'worker threads'] as const) {
    it(`gives the same results ${kind}; a transferred chunk leaves its buffer, a view is copied`, async () => {
      const pool = kind === 'in-process' ? new BlockPool(2, null) : new BlockPool(2);
      try {
        if (kind === 'worker threads' && pool.threads === 0) return; // no compiled worker (unbuilt checkout): covered in-process
        const path = join(dir, `pool-${kind}`);
        writeFileSync(path, '');
        const fd = openSync(path, 'r+');
        try {
          const own = chunk(); // a buffer of its own, as grpc-js delivers a message
          const ownSha = sha(own);
          const L = own.length; // own reads as empty once moved
          const big = new Uint8Array(4 * own.length);
          big.set(own, own.length);
          const view = big.subarray(own.length, 2 * own.length); // a view of a larger buffer
          const bad = new Uint8Array(own);
          bad[5] = bad[5]! ^ 1;
          const [r1, r2, r3] = await Promise.all([
            pool.run({ data: own, sha256: ownSha, finite: true, fd, position: 0 }, true),
            pool.run({ data: view, sha256: ownSha, finite: true, fd, position: L }, true),
            pool.run({ data: bad, sha256: ownSha, finite: true, fd, position: 2 * L }, true),
          ]);
          expect([r1.kind, r2.kind, r3.kind]).toEqual(['ok', 'ok', 'sha-mismatch']);
          if (kind === 'worker threads') expect(own.length).toBe(0); // moved, not copied
          expect(view.length).toBe(1_200_000); // the caller's view is untouched
          const file = readFileSync(path);
          expect(file.length).toBe(2 * 1_200_000);
          expect(sha(file.subarray(0, 1_200_000))).toBe(ownSha);
          expect(sha(file.subarray(1_200_000))).toBe(ownSha);
        } finally {
          closeSync(fd);
        }
      } finally {
        await pool.close();
      }
    });
  }
});

describe('chunk memory on the worker threads', () => {
  it('is freed once a chunk is checked: nothing comes back for the caller\'s garbage collector', async () => {
    const pool = new BlockPool(2);
    try {
      if (pool.threads === 0) return; // no compiled worker (unbuilt checkout)
      await pool.warm();
      const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
      const chunk = () => {
        const f = new Float32Array(1 << 18); // 1 MiB, a buffer of its own (as grpc-js delivers a message)
        for (let i = 0; i < f.length; i++) f[i] = i * 0.25;
        return new Uint8Array(f.buffer);
      };
      const before = process.memoryUsage().arrayBuffers;
      const n = 40;
      const results: string[] = [];
      for (let k = 0; k < n; k += 4) {
        const batch = Array.from({ length: 4 }, chunk);
        const rs = await Promise.all(batch.map((d) => pool.run({ data: d, sha256: sha(d), finite: true, fd: -1, position: 0 }, true)));
        results.push(...rs.map((r) => r.kind));
      }
      expect(results).toEqual(new Array(n).fill('ok'));
      // 40 MiB went to the workers; they free it as they finish (no collection on this thread
      // needed), so this thread's ArrayBuffer memory comes back to where it was within moments.
      let now = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 100 && now - before > 8 << 20; i++) {
        await new Promise((r) => setTimeout(r, 20));
        now = process.memoryUsage().arrayBuffers;
      }
      expect(now - before).toBeLessThan(8 << 20);
    } finally {
      await pool.close();
    }
  });
});

describe('the shared upload pool', () => {
  it('does not keep a process alive once its work is done (the coordinator exits after its study)', () => {
    const built = fileURLToPath(new URL('../../dist/shared/transport/block-pool.js', import.meta.url));
    if (!existsSync(built)) return; // unbuilt checkout: the pool runs in-process, no threads to keep anything alive
    const script = `
      const { uploadBlockPool } = await import(${JSON.stringify(built)});
      const { createHash } = await import('node:crypto');
      const d = new Uint8Array(1 << 20);
      const r = await uploadBlockPool().run({ data: d, sha256: createHash('sha256').update(d).digest('hex'), finite: true, fd: -1, position: 0 }, true);
      console.log(r.kind, uploadBlockPool().threads);`;
    // Exits by itself (no process.exit): a pool thread holding the event loop would run into the kill timeout.
    const file = join(mkdtempSync(join(tmpdir(), 'pool-exit-')), 'run.mjs');
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
    rmSync(dirname(file), { recursive: true, force: true });
    expect(r.signal).toBeNull();
    expect(r.stdout.trim(), r.stderr).toMatch(/^ok [2-4]$/);
  });
});

describe('cell sums of squares at receipt', () => {
  it('returns the norms grid cell sums of a chunk (aligned or not) and still names the first non-finite value', () => {
    const f = Float32Array.from({ length: 40_000 }, (_, i) => Math.sin(i) * 0.1);
    const bytes = new Uint8Array(f.buffer);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const r = checkAndWrite({ data: bytes, sha256: sha, finite: true, fd: -1, position: 0, cells: true }, scratch);
    expect(r).toEqual({ kind: 'ok', cells: cellSumsOfSquares(f) });
    const backing = new Uint8Array(bytes.length + 1);
    backing.set(bytes, 1);
    expect(checkAndWrite({ data: backing.subarray(1), sha256: sha, finite: true, fd: -1, position: 0, cells: true }, scratch)).toEqual(r);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const g = Float32Array.from(f);
      g[33_333] = bad;
      const gb = new Uint8Array(g.buffer);
      expect(checkAndWrite({ data: gb, sha256: createHash('sha256').update(gb).digest('hex'), finite: true, fd: -1, position: 0, cells: true }, scratch))
        .toEqual({ kind: 'non-finite', index: 33_333 });
    }
    // Masked ring bytes: no finiteness, no sums.
    expect(checkAndWrite({ data: bytes, sha256: sha, finite: false, fd: -1, position: 0, cells: true }, scratch)).toEqual({ kind: 'ok' });
  });
});
