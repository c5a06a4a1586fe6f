import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkManifest, formatProblem } from './manifest.js';
import { dicom16, grayPng8, rgbPng } from '../../test/helpers/test-images.js';

const top = mkdtempSync(join(tmpdir(), 'fl-mchecks-'));
const dir = join(top, 'site');
afterAll(() => rmSync(top, { recursive: true, force: true }));
mkdirSync(join(dir, 'img'), { recursive: true });
for (let i = 0; i < 12; i++) writeFileSync(join(dir, `img/g${i}.png`), grayPng8(40, 40, (x, y) => (x * 5 + y * 3 + i * 17) % 256));
writeFileSync(join(top, 'outside.png'), grayPng8(40, 40, (x) => x));
const text = (ps: { line: number; column?: string; message: string }[]) => ps.map(formatProblem);
function manifest(name: string, body: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

describe('manifest messages a person can act on', () => {
  it('detects semicolon, tab, UTF-16 and non-UTF-8 files and says how to save them', async () => {
    const semi = await checkManifest(manifest('semi.csv', 'case_id;cohort;label;gsus\nA;train;0;img/g0.png\n'));
    expect(text(semi.problems)).toEqual(['file: this file looks semicolon-separated (as Excel writes in some locales); save it as comma-separated (CSV UTF-8)']);
    const tab = await checkManifest(manifest('tab.csv', 'case_id\tcohort\tlabel\tgsus\nA\ttrain\t0\timg/g0.png\n'));
    expect(text(tab.problems)[0]).toMatch(/tab-separated; save it as comma-separated/);
    const u16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('case_id,cohort,label,gsus\nA,train,0,img/g0.png\n', 'utf16le')]);
    expect(text((await checkManifest(manifest('u16.csv', u16))).problems)[0]).toMatch(/UTF-16.*save it as UTF-8/);
    const latin1 = Buffer.from('case_id,cohort,label,gsus\nA,train,0,img/caf\xe9.png\n', 'latin1');
    expect(text((await checkManifest(manifest('l1.csv', latin1))).problems)[0]).toMatch(/not valid UTF-8.*save it as UTF-8/);
  });

  it('matches headers ignoring case and spaces, ignores undeclared columns without echoing them, skips empty rows', async () => {
    const p = manifest(
      'messy.csv',
      ' Case_ID ,COHORT,Label,GSUS,Patient_Name,notes\nA1,Train,0,img/g1.png,Jane Doe,private remark\n,,,,,\nA2,test,1,img/g2.png,John Roe,x\n,,,,,\n',
    );
    const c = await checkManifest(p);
    expect(c.problems).toEqual([]);
    expect(c.manifest.modalities).toEqual(['gsus']);
    expect(c.manifest.cases.map((x) => x.caseId)).toEqual(['A1', 'A2']);
    expect(text(c.warnings)).toEqual([
      'row 1, column notes: column is not declared and is ignored (declare it as an extra column, or name it as a modality)',
      'row 1, column patient_name: column is not declared and is ignored (declare it as an extra column, or name it as a modality)',
    ]);
    const all = JSON.stringify(c);
    expect(all).not.toContain('Jane');
    expect(all).not.toContain('private remark');
    const declared = await checkManifest(p, { extraColumns: ['patient_name', 'notes'] });
    expect(declared.warnings).toEqual([]);
  });

  it('finds an NFD-written path (macOS) whose file is stored NFC', async () => {
    const nfc = 'img/caf\u00e9.png';
    writeFileSync(join(dir, nfc), grayPng8(40, 40, (x, y) => (x * y) % 256));
    const c = await checkManifest(manifest('nfd.csv', `case_id,cohort,label,gsus\nN1,train,0,${nfc.normalize('NFD')}\n`));
    expect(c.problems).toEqual([]);
  });

  it('keeps image paths inside the site folder, symlinks resolved, and never opens a file outside', async () => {
    symlinkSync(join(top, 'outside.png'), join(dir, 'img/link.png'));
    const c = await checkManifest(
      manifest('escape.csv', `case_id,cohort,label,gsus\nE1,train,0,../outside.png\nE2,train,0,/etc/passwd\nE3,train,0,img/link.png\nE4,train,0,../../../../etc/passwd\n`),
    );
    const t = text(c.problems);
    expect(t).toHaveLength(4);
    for (const [i, row] of [2, 3, 4, 5].entries()) expect(t[i]).toMatch(new RegExp(`^row ${row}, column gsus: image path .* leads outside the site folder`));
    // A configured data root that contains the file allows it.
    const ok = await checkManifest(join(dir, 'escape.csv'), { dataRoot: top, modalities: ['gsus'] });
    expect(text(ok.problems).filter((p) => /outside/.test(p))).toHaveLength(2); // /etc/passwd twice
  });

  it('reports identical pixels across cohorts and as two modalities of one case, listing the rows', async () => {
    copyFileSync(join(dir, 'img/g3.png'), join(dir, 'img/g3-copy.png'));
    // Same pixels re-encoded in another format count too: a 16-bit DICOM of g4's values would differ
    // in type, so the check is on decoded stored values of the same type.
    const c = await checkManifest(
      manifest('leak.csv', ['case_id,cohort,label,gsus,ceus', 'L1,train,0,img/g3.png,img/g5.png', 'L2,test,1,img/g3-copy.png,img/g6.png', 'L3,train,0,img/g7.png,img/g7.png'].join('\n')),
    );
    expect(text(c.problems)).toEqual([
      'row 2, column gsus: identical image in rows of different cohorts (leakage between train and test): row 2 (gsus, train), row 3 (gsus, test); remove the duplicate or keep the case in one cohort',
      'row 4, column ceus: the same image is given for two modalities of one case: row 4 (ceus, train), row 4 (gsus, train); each modality needs its own image',
    ]);
  });

  it('reports frame counts, refuses cine without a policy, converts colour for grey modalities, refuses grey for colour', async () => {
    const px = new Uint16Array(3 * 16 * 16).map((_, i) => i % 997);
    writeFileSync(join(dir, 'img/cine.dcm'), dicom16({ rows: 16, columns: 16, pixels: px, frames: 3, modality: 'US' }));
    writeFileSync(join(dir, 'img/doppler.png'), rgbPng(40, 40, (x, y) => [x * 6, 30, y * 6]));
    writeFileSync(join(dir, 'img/bmode-rgb.png'), rgbPng(40, 40, (x, y) => [x * 5, x * 5, (x + y) % 256]));
    const p = manifest('cine.csv', ['case_id,cohort,label,bmus,ceus,cdus', 'C1,train,0,img/bmode-rgb.png,img/cine.dcm,img/doppler.png', 'C2,train,1,img/g8.png,img/g9.png,img/g10.png'].join('\n'));
    const none = await checkManifest(p, { modalitySettings: { cdus: { channels: 'rgb' } } });
    expect(text(none.problems)).toEqual([
      expect.stringMatching(/^row 2, column ceus: img\/cine.dcm: multi-frame image \(3 frames\) but no frame policy/),
      expect.stringMatching(/^row 3, column cdus: img\/g10.png: grey image \(MONOCHROME2\) given for a colour modality/),
    ]);
    const ok = await checkManifest(p, { modalities: ['bmus', 'ceus', 'cdus'], modalitySettings: { ceus: { channels: 'grey', frames: { kind: 'peak' } }, cdus: { channels: 'rgb' } } });
    const ceus = ok.images.find((i) => i.caseId === 'C1' && i.modality === 'ceus')!;
    expect(ceus.frames).toBe(3);
    expect(ok.images.filter((i) => i.convertedToGrey).map((i) => `${i.caseId}:${i.modality}`)).toEqual(['C1:bmus']);
  });

  it('warns (does not fail) for blank images, images much smaller than the model input, and non-US DICOM', async () => {
    writeFileSync(join(dir, 'img/blank.png'), grayPng8(40, 40, () => 0));
    writeFileSync(join(dir, 'img/tiny.png'), grayPng8(12, 12, (x, y) => x + y));
    writeFileSync(join(dir, 'img/mr.dcm'), dicom16({ rows: 64, columns: 64, pixels: new Uint16Array(4096).map((_, i) => i), modality: 'MR' }));
    const c = await checkManifest(manifest('sanity.csv', 'case_id,cohort,label,gsus\nS1,train,0,img/blank.png\nS2,train,1,img/tiny.png\nS3,train,0,img/mr.dcm\n'), { inputSize: 64 });
    expect(c.problems).toEqual([]);
    expect(text(c.warnings)).toEqual([
      'row 2, column gsus: the image is blank (one value throughout)',
      'row 3, column gsus: the image (12 px) is much smaller than the model input (64 px); it will be upsampled more than 2x',
      'row 4, column gsus: DICOM Modality is MR, not US (ultrasound), for image column gsus; check that the right series was exported',
    ]);
    expect(existsSync(join(dir, 'img/mr.dcm'))).toBe(true);
  });
});
