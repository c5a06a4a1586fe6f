import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkManifest, formatProblem, loadManifest, ManifestError } from './manifest.js';
import { dicom16, grayPng16, grayPng8 } from '../../test/helpers/test-images.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-manifest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'img'));
writeFileSync(join(dir, 'img/a.png'), grayPng8(20, 10, (x) => x * 10));
writeFileSync(join(dir, 'img/b.png'), grayPng16(20, 10, (x) => x * 1000));
writeFileSync(join(dir, 'img/c.dcm'), dicom16({ rows: 10, columns: 20, pixels: new Uint16Array(200).map((_, i) => i) }));
writeFileSync(join(dir, 'img/broken.png'), Buffer.from('not an image at all'));
// Distinct images per row (identical pixels in two rows would be reported as leakage).
for (let i = 0; i < 16; i++) writeFileSync(join(dir, `img/p${i}.png`), grayPng8(20, 10, (x, y) => (x * 7 + y * 3 + i * 11) % 256));

function manifest(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('manifest validation', () => {
  it('loads a valid manifest with PNG 8/16-bit and DICOM, ROIs and clinical columns', async () => {
    const p = manifest(
      'ok.csv',
      [
        'case_id,cohort,label,gsus,ceus,gsus_roi,age,tumor_size_mm,ki67,n_positive_nodes',
        'A1,train,0,img/a.png,img/b.png,2 2 10 6,50,12.5,20,0',
        'A2,test,1,img/c.dcm,img/p0.png,,61,,35,2',
      ].join('\n'),
    );
    const { manifest: m, images } = await loadManifest(p);
    expect(m.modalities).toEqual(['gsus', 'ceus']);
    expect(m.cases).toHaveLength(2);
    expect(m.cases[0]!.images['gsus']!.roi).toEqual([2, 2, 10, 6]);
    expect(m.cases[0]!.clinical).toEqual({ age: 50, tumor_size_mm: 12.5, ki67: 20, n_positive_nodes: 0 });
    expect(m.cases[1]!.clinical).toEqual({ age: 61, ki67: 35, n_positive_nodes: 2 });
    const info = (c: string, m: string) => images.find((i) => i.caseId === c && i.modality === m)!;
    expect(info('A2', 'gsus').format).toBe('dicom');
    expect(info('A1', 'ceus').bitDepth).toBe(16);
  });

  it('reports every problem at once, each with its row and column', async () => {
    const p = manifest(
      'bad.csv',
      [
        'case_id,cohort,label,gsus,ceus,gsus_roi,age',
        'B1,train,2,img/p1.png,img/p2.png,,40', // label not 0/1 (row 2)
        'B2,holdout,0,img/p3.png,img/p4.png,,40', // unknown cohort (row 3)
        'B1,test,1,img/p5.png,img/p6.png,,40', // duplicate case_id (row 4)
        'B4,train,1,img/missing.png,img/p7.png,,40', // missing image (row 5)
        'B5,validation,0,img/p8.png,img/broken.png,,40', // undecodable image (row 6)
        'B6,train,0,img/p9.png,img/p10.png,15 5 10 10,old', // ROI beyond image, bad number (row 7)
        'B7,train,0,img/p11.png', // wrong field count (row 8)
      ].join('\n'),
    );
    const { problems } = await checkManifest(p);
    const text = problems.map(formatProblem);
    expect(text).toEqual([
      'row 2, column label: label must be 0 or 1, got "2"',
      'row 3, column cohort: unknown cohort "holdout" (expected one of train, validation, test, prospective)',
      'row 4, column case_id: duplicate case_id "B1" (first on row 2)',
      'row 5, column gsus: image not found: img/missing.png',
      expect.stringMatching(/^row 6, column ceus: cannot decode image img\/broken.png: neither a PNG nor a DICOM/),
      'row 7, column age: expected a number',
      'row 7, column gsus_roi: ROI 15 5 10 10 extends beyond the 20x10 image',
      'row 8: expected 7 fields, found 4',
    ]);
    const roi = manifest('roi.csv', 'case_id,cohort,label,gsus,gsus_roi\nR1,train,0,img/p12.png,15 5 10 10\nR2,train,0,img/p13.png,1 2 x 4\n');
    expect((await checkManifest(roi)).problems.map(formatProblem)).toEqual([
      'row 2, column gsus_roi: ROI 15 5 10 10 extends beyond the 20x10 image',
      'row 3, column gsus_roi: ROI must be "x y w h" (four non-negative integers)',
    ]);
  });

  it('reports missing columns (required and requested modalities) and throws ManifestError from loadManifest', async () => {
    const p = manifest('cols.csv', 'case_id,label,gsus\nC1,0,img/a.png\n');
    const { problems } = await checkManifest(p, { modalities: ['gsus', 'ceus'] });
    expect(problems.map(formatProblem)).toEqual(['row 1, column ceus: missing column "ceus"', 'row 1, column cohort: missing column "cohort"']);
    await expect(loadManifest(p, { modalities: ['gsus', 'ceus'] })).rejects.toThrow(ManifestError);
    await expect(loadManifest(p, { modalities: ['gsus', 'ceus'] })).rejects.toThrow(/cols.csv: 2 problems/);
    const missing = await checkManifest(join(dir, 'nope.csv'));
    expect(missing.problems[0]!.message).toMatch(/cannot read manifest: ENOENT/);
  });
});
