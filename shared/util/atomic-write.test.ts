import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { atomicWriteFile, setBeforeVerifyHookForTests, AtomicWriteError, writeError } from './atomic-write.js';

afterEach(() => setBeforeVerifyHookForTests(null));

describe('atomicWriteFile', () => {
  it('writes, returns size and SHA-256, leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aw-'));
    const p = join(dir, 'sub', 'a.json');
    const w = await atomicWriteFile(p, [Buffer.from('hello '), Buffer.from('world')]);
    expect(readFileSync(p, 'utf8')).toBe('hello world');
    expect(w.bytes).toBe(11);
    expect(w.sha256).toBe(createHash('sha256').update('hello world').digest('hex'));
    expect(readdirSync(join(dir, 'sub'))).toEqual(['a.json']);
  });

  it('a file that does not read back as written is never renamed into place; the old one is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aw-'));
    const p = join(dir, 'report.json');
    writeFileSync(p, 'the good report');
    setBeforeVerifyHookForTests(async (tmp) => truncateSync(tmp, 5)); // as a full disk leaves it
    const err = await atomicWriteFile(p, 'a new report of some length').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicWriteError);
    expect((err as Error).message).toContain(p);
    expect((err as Error).message).toMatch(/expected 27 bytes.*found 5 bytes/);
    expect(readFileSync(p, 'utf8')).toBe('the good report');
    expect(readdirSync(dir)).toEqual(['report.json']);
  });

  it('ENOSPC and EIO name the path and say what to do', () => {
    const e = writeError('/data/checkpoints/m/round-1.flt', Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' }));
    expect(e.message).toBe('cannot write /data/checkpoints/m/round-1.flt: ENOSPC: no space left on the device; free space there, then restart (the previous file is kept)');
    expect(e.errno).toBe('ENOSPC');
    expect(e.user).toBe(false);
    expect(writeError('/x', Object.assign(new Error('i/o'), { code: 'EIO' })).message).toMatch(/^cannot write \/x: EIO: I\/O error/);
  });
});
