// From an opened image (any number of frames, grey or colour) to the one image a modality feeds the
// model, following the modality's settings: colour kept (rgb) or converted to luminance (grey), and
// the frame policy for cine. Frames are decoded one at a time (at most two held at once).
import { FlError } from '../../shared/errors/index.js';
import { luminance, toUnit, unitRange, type DecodedImage, type ImageSource, type RawFrame } from './decode.js';
import { describePolicy, type ModalitySettings } from '../../shared/config/modality.js';
import type { Roi } from './manifest.js';

export class ModalityImageError extends FlError {
  constructor(message: string) {
    super('image.modality', message, { user: true });
  }
}

export interface ModalityImage {
  readonly image: DecodedImage;
  /** A colour image given for a grey modality was converted to luminance. */
  readonly convertedToGrey: boolean;
  /** Frame chosen by the policy (fixed / peak), when one frame was chosen. */
  readonly frame?: number;
  readonly frames: number;
}

/** Rescaled values (grey) or luminance of the stored values (colour), for ranking frames. */
function intensity(src: ImageSource, f: RawFrame): Float32Array {
  const n = f.rows * f.columns;
  const out = new Float32Array(n);
  if (f.channels === 3) {
    for (let i = 0; i < n; i++) out[i] = 0.299 * f.data[3 * i]! + 0.587 * f.data[3 * i + 1]! + 0.114 * f.data[3 * i + 2]!;
  } else {
    const { slope, intercept } = src.format === 'dicom' ? src.rescale : { slope: 1, intercept: 0 };
    for (let i = 0; i < n; i++) out[i] = f.data[i]! * slope + intercept;
  }
  // MONOCHROME1: brighter on screen is lower stored value.
  if (src.photometric === 'MONOCHROME1') for (let i = 0; i < n; i++) out[i] = -out[i]!;
  return out;
}

function roiMean(values: Float32Array, cols: number, rows: number, roi: Roi | undefined): number {
  const [x0, y0, w, h] = roi ?? [0, 0, cols, rows];
  const x1 = Math.min(cols, x0 + w);
  const y1 = Math.min(rows, y0 + h);
  let s = 0;
  let n = 0;
  for (let y = Math.max(0, y0); y < y1; y++) for (let x = Math.max(0, x0); x < x1; x++, n++) s += values[y * cols + x]!;
  return n > 0 ? s / n : 0;
}

/**
 * Applies the modality's settings to an image. `where` names the row/column/file in messages.
 * Throws ModalityImageError for a multi-frame file without a policy, a frame out of range, or a
 * grey image given for a colour modality.
 */
export async function modalityImage(src: ImageSource, settings: ModalitySettings, where: string, roi?: Roi): Promise<ModalityImage> {
  const policy = settings.frames;
  const F = src.frames;
  if (F > 1 && !policy) {
    throw new ModalityImageError(
      `${where}: multi-frame image (${F} frames) but no frame policy for this modality; set one in the study or site config (frames: fixed:N, peak, mean or sample:K) - the first frame is never taken silently`,
    );
  }
  const wantRgb = settings.channels === 'rgb';
  if (wantRgb && src.channels === 1) {
    throw new ModalityImageError(`${where}: grey image (${src.photometric}) given for a colour modality (channels: rgb); give the colour (Doppler) export, or declare the modality grey`);
  }
  if (wantRgb && policy?.kind === 'sample') {
    throw new ModalityImageError(`${where}: frame policy ${describePolicy(policy)} stacks grey frames as channels and cannot be combined with channels: rgb`);
  }
  const convertedToGrey = !wantRgb && src.channels === 3;
  const n = src.rows * src.columns;
  const finish = (unit: Float32Array, channels: number): DecodedImage => ({
    width: src.columns,
    height: src.rows,
    channels,
    data: channels === 1 && src.channels === 3 ? luminance(unit, n) : unit,
    format: src.format,
    bitDepth: src.bitsStored,
  });
  const one = async (i: number): Promise<ModalityImage> => {
    const f = await src.frame(i);
    const unit = toUnit(src, f);
    return { image: finish(unit, wantRgb ? 3 : 1), convertedToGrey, frames: F, ...(F > 1 ? { frame: i } : {}) };
  };
  if (!policy || F === 1) {
    if (policy?.kind === 'fixed' && policy.frame !== 0 && F === 1) {
      throw new ModalityImageError(`${where}: frame policy ${describePolicy(policy)} but the image has a single frame`);
    }
    if (policy?.kind === 'sample') {
      // A still image for a cine modality: every sampled channel is that image.
      const g = (await one(0)).image;
      const out = new Float32Array(n * policy.k);
      for (let p = 0; p < n; p++) for (let c = 0; c < policy.k; c++) out[p * policy.k + c] = g.data[p]!;
      return { image: { ...g, channels: policy.k, data: out }, convertedToGrey, frames: F };
    }
    return one(0);
  }
  switch (policy.kind) {
    case 'fixed':
      if (policy.frame >= F) throw new ModalityImageError(`${where}: frame policy ${describePolicy(policy)} but the image has ${F} frames (0..${F - 1})`);
      return one(policy.frame);
    case 'peak': {
      let best = 0;
      let bestScore = -Infinity;
      for (let i = 0; i < F; i++) {
        const score = roiMean(intensity(src, await src.frame(i)), src.columns, src.rows, roi);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
      return one(best);
    }
    case 'mean': {
      // Average the stored values (as floats), then map to [0, 1] once, so that frames keep their
      // relative brightness.
      const c = src.channels;
      const sum = new Float64Array(n * c);
      let last: RawFrame | undefined;
      for (let i = 0; i < F; i++) {
        last = await src.frame(i);
        for (let k = 0; k < sum.length; k++) sum[k]! += last.data[k]!;
      }
      const mean = Float32Array.from(sum, (v) => v / F);
      const unit = toUnit(src, { ...last!, data: mean as unknown as RawFrame['data'] });
      return { image: finish(unit, wantRgb ? 3 : 1), convertedToGrey, frames: F };
    }
    case 'sample': {
      const K = policy.k;
      const out = new Float32Array(n * K);
      const picked: RawFrame[] = [];
      for (let c = 0; c < K; c++) picked.push(await src.frame(Math.round((c * (F - 1)) / (K - 1))));
      // One grey range for all sampled frames, so that enhancement over time survives.
      let range: [number, number] | undefined;
      if (src.channels === 1 && src.format === 'dicom') {
        range = [Infinity, -Infinity];
        for (const f of picked) {
          const [lo, hi] = unitRange(src, f);
          range = [Math.min(range[0], lo), Math.max(range[1], hi)];
        }
      }
      picked.forEach((f, c) => {
        let unit = toUnit(src, f, range);
        if (src.channels === 3) unit = luminance(unit, n);
        for (let p = 0; p < n; p++) out[p * K + c] = unit[p]!;
      });
      return { image: { width: src.columns, height: src.rows, channels: K, data: out, format: src.format, bitDepth: src.bitsStored }, convertedToGrey, frames: F };
    }
  }
}
