import { describe, expect, it } from 'vitest';
import { openImage } from './decode.js';
import { modalityImage, ModalityImageError } from './frames.js';
import { modalitySettingsSchema, type ModalitySettings } from '../../shared/config/modality.js';
import { dicom16, rgbPng } from '../../test/helpers/test-images.js';

// A 4-frame 8x8 cine: frame f has value 100*f inside the ROI box (2..5, 2..5) and, in frame 1 only,
// a very bright corner outside the ROI (so the whole-image peak and the ROI peak differ).
const R = 8;
const F = 4;
const px = new Uint16Array(F * R * R);
for (let f = 0; f < F; f++) {
  for (let y = 0; y < R; y++) {
    for (let x = 0; x < R; x++) {
      const inRoi = x >= 2 && x < 6 && y >= 2 && y < 6;
      const enhancement = [100, 50, 300, 200][f]!;
      px[f * R * R + y * R + x] = inRoi ? enhancement : f === 1 && x < 2 && y < 2 ? 4000 : 10;
    }
  }
}
const cine = dicom16({ rows: R, columns: R, pixels: px, frames: F, windowCenter: 2048, windowWidth: 4096 });
const settings = (s: unknown): ModalitySettings => modalitySettingsSchema.parse(s) as ModalitySettings;

describe('frame policies and channels', () => {
  it('refuses a multi-frame image without a policy, never taking the first frame silently', async () => {
    await expect(modalityImage(openImage(cine), settings({}), 'row 2, column ceus')).rejects.toThrow(ModalityImageError);
    await expect(modalityImage(openImage(cine), settings({}), 'row 2, column ceus')).rejects.toThrow(/row 2, column ceus: multi-frame image \(4 frames\) but no frame policy/);
  });

  it('fixed:N takes frame N and refuses one out of range', async () => {
    const m = await modalityImage(openImage(cine), settings({ frames: 'fixed:2' }), 'w');
    expect(m.frame).toBe(2);
    expect(m.image.data[3 * R + 3]).toBeCloseTo((300 - (2048 - 0.5 - 4095 / 2)) / 4095, 5);
    await expect(modalityImage(openImage(cine), settings({ frames: 'fixed:9' }), 'w')).rejects.toThrow(/has 4 frames/);
  });

  it('peak takes the frame with the highest mean inside the ROI (not the whole image)', async () => {
    expect((await modalityImage(openImage(cine), settings({ frames: 'peak' }), 'w', [2, 2, 4, 4])).frame).toBe(2);
    // Without an ROI the bright corner of frame 1 wins: mean 4000*4/64 + ... > frame 2.
    expect((await modalityImage(openImage(cine), settings({ frames: 'peak' }), 'w')).frame).toBe(1);
  });

  it('mean averages frames before mapping to [0, 1]; sample:K stacks K evenly spaced frames as channels', async () => {
    const lo = 2048 - 0.5 - 4095 / 2;
    const mean = await modalityImage(openImage(cine), settings({ frames: 'mean' }), 'w');
    expect(mean.image.channels).toBe(1);
    expect(mean.image.data[3 * R + 3]).toBeCloseTo((162.5 - lo) / 4095, 5);
    const s = await modalityImage(openImage(cine), settings({ frames: 'sample:3' }), 'w');
    expect(s.image.channels).toBe(3);
    // Frames 0, round(1.5)=2, 3 -> 100, 300, 200 at the ROI centre.
    const at = (3 * R + 3) * 3;
    expect(Array.from(s.image.data.subarray(at, at + 3)).map((v) => Math.round(v * 4095 + lo))).toEqual([100, 300, 200]);
  });

  it('keeps RGB for a colour modality, converts colour to luminance for a grey one, refuses grey for colour', async () => {
    const red = rgbPng(2, 2, () => [200, 30, 30]);
    const blue = rgbPng(2, 2, () => [30, 60, 220]);
    const r = await modalityImage(openImage(red), settings({ channels: 'rgb' }), 'w');
    expect(r.image.channels).toBe(3);
    expect(Array.from(r.image.data.subarray(0, 3))).toEqual([200, 30, 30].map((v) => Math.fround(v / 255)));
    const b = await modalityImage(openImage(blue), settings({ channels: 'rgb' }), 'w');
    expect(b.image.data[2]! > b.image.data[0]!).toBe(true); // direction of flow survives
    const g = await modalityImage(openImage(red), settings({}), 'w');
    expect([g.image.channels, g.convertedToGrey]).toEqual([1, true]);
    expect(g.image.data[0]).toBeCloseTo((0.299 * 200 + 0.587 * 30 + 0.114 * 30) / 255, 5);
    await expect(modalityImage(openImage(cine), settings({ channels: 'rgb', frames: 'peak' }), 'row 4, column cdus')).rejects.toThrow(
      /row 4, column cdus: grey image \(MONOCHROME2\) given for a colour modality/,
    );
  });

  it('validates policy text', () => {
    expect(modalitySettingsSchema.safeParse({ frames: 'first' }).success).toBe(false);
    expect(modalitySettingsSchema.safeParse({ frames: 'sample:1' }).success).toBe(false);
    expect(modalitySettingsSchema.parse({ channels: 'gray', frames: 'fixed:0' })).toEqual({ channels: 'grey', frames: { kind: 'fixed', frame: 0 } });
  });
});
