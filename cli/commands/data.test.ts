import { runCli } from '../../test/helpers/cli.js';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSites } from '../../shared/synth/generate.js';
import { CliError } from '../errors.js';
import { register as registerData } from './data.js';
import { register as registerSynth } from './synth.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-cli-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]): Promise<string> => runCli([registerData, registerSynth], args);

describe('fl synth / fl data check', () => {
  it('generates sites and checks a valid manifest with a summary', async () => {
    const out = await run('synth', '--out', dir, '--sites', '1', '--cases-per-site', '20', '--seed', '4', '--image-size', '40');
    expect(out).toMatch(/site-1: .*manifest.csv/);
    const summary = JSON.parse(await run('data', 'check', join(dir, 'site-1/manifest.csv'), '--json'));
    expect(summary.cases).toBe(20);
    expect(summary.cohorts.train.cases).toBe(12);
    expect(summary.imageSizes.gsus).toEqual({ '40x40 png 8-bit': 20 });
    expect(summary.problems).toEqual([]);
  });

  it('exits non-zero listing every problem', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'case_id,cohort,label,gsus\nX1,train,yes,site-1/images/S1-0001_gsus.png\nX2,later,0,nope.png\n');
    const err = await run('data', 'check', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(1);
    expect((err as CliError).message).toContain('3 problems');
    expect((err as CliError).message).toContain('row 2, column label: label must be 0 or 1, got "yes"');
    expect((err as CliError).message).toContain('row 3, column cohort: unknown cohort "later"');
    expect((err as CliError).message).toContain('row 3, column gsus: image not found: nope.png');
  });
});

describe('fl data decode', () => {
  const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
  const refs = JSON.parse(readFileSync(new URL('../../site-agent/data/fixtures/dicom-reference.json', import.meta.url), 'utf8')).files;
  it.skipIf(!existsSync(PYDICOM))('writes (frames, rows, columns, channels) in the stored type, readable by NumPy', async () => {
    const out = join(dir, 'rle2.npy');
    const text = await run('data', 'decode', join(PYDICOM, 'SC_rgb_rle_2frame.dcm'), '--out', out);
    expect(text).toContain('shape (2, 100, 100, 3) uint8');
    const npy = readFileSync(out);
    const hl = npy.readUInt16LE(8);
    expect(npy.subarray(10, 10 + hl).toString('latin1')).toContain("'shape': (2, 100, 100, 3)");
    expect(createHash('sha256').update(npy.subarray(10 + hl)).digest('hex')).toBe(refs['SC_rgb_rle_2frame.dcm'].sha256);
    if (existsSync('/usr/bin/python3')) {
      const r = spawnSync('/usr/bin/python3', ['-c', `import numpy as np; a = np.load(${JSON.stringify(out)}); print(a.shape, a.dtype, int(a[1, 50, 50].sum()))`], { encoding: 'utf8' });
      if (r.status === 0) expect(r.stdout.trim()).toMatch(/^\(2, 100, 100, 3\) uint8 \d+$/);
    }
    // One frame, and float32 after rescale.
    const one = join(dir, 'dose3.npy');
    expect(await run('data', 'decode', join(PYDICOM, 'rtdose.dcm'), '--frame', '3', '--rescale', '--out', one)).toContain('shape (1, 10, 10, 1) float32 (rescaled)');
  });

  it.skipIf(!existsSync(PYDICOM))('refuses an unsupported file with the transfer syntax and a way out, exit 2', async () => {
    // 12-bit JPEG Extended decodes since dcmjs-codecs; a stream patched to 16-bit samples (not
    // valid for process 2 & 4) stands for what no codec reads.
    const bytes = Buffer.from(readFileSync(join(PYDICOM, 'JPGExtended.dcm')));
    const sof = bytes.indexOf(Buffer.from([0xff, 0xc1]));
    bytes[sof + 4] = 16;
    const bad = join(dir, 'JPGExtended-16.dcm');
    writeFileSync(bad, bytes);
    const err = await run('data', 'decode', bad, '--out', join(dir, 'x.npy')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    expect((err as CliError).message).toMatch(/JPGExtended-16.dcm: .*JPEG Extended \(Process 2 & 4\) \(1\.2\.840\.10008\.1\.2\.4\.51\).*(gdcmconv --raw|dcmdjpeg)/);
  });
});
