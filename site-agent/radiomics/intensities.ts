// Images for radiomics: the image's own intensities (PNG stored values; DICOM stored values after
// rescale slope and intercept), never the [0, 1] window used for the networks, and the pixel
// spacing a DICOM carries (Pixel Spacing, else the ultrasound region calibration).
import { readFile } from 'node:fs/promises';
import dicomParser from 'dicom-parser';
import { FlError } from '../../shared/errors/index.js';
import { isDicom, openImage, type ImageSource, type RawFrame } from '../data/decode.js';

export interface IntensityImage {
  readonly width: number;
  readonly height: number;
  readonly values: Float64Array;
  /** mm per pixel (x, y) from the file, when it has one. */
  readonly spacing?: { readonly x: number; readonly y: number; readonly source: string };
}

/** Pixel spacing a DICOM file carries: Pixel Spacing, else the ultrasound region calibration. */
function dicomSpacing(bytes: Uint8Array): IntensityImage['spacing'] | undefined {
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  } catch {
    return undefined;
  }
  const ps = ds.string('x00280030');
  if (ps) {
    const [row, col] = ps.split('\\').map(Number);
    if (row! > 0 && col! > 0) return { x: col!, y: row!, source: 'DICOM Pixel Spacing (0028,0030)' };
  }
  const regions = ds.elements['x00186011']?.items;
  if (regions && regions.length > 0) {
    const r = regions[0]!.dataSet!;
    const ux = r.uint16('x00186024');
    const uy = r.uint16('x00186026');
    const dx = r.double('x0018602c');
    const dy = r.double('x0018602e');
    // Units 3 = cm.
    if (ux === 3 && uy === 3 && dx !== undefined && dy !== undefined && dx > 0 && dy > 0) {
      return { x: dx * 10, y: dy * 10, source: 'DICOM ultrasound region calibration (Physical Delta X/Y)' };
    }
  }
  return undefined;
}

/**
 * Reads an image's own intensities; `what` names it in errors (e.g. "row 7, column gsus"). The
 * stored samples come from the site's decoder (every supported transfer syntax and colour model);
 * DICOM values get the rescale slope and intercept; colour images become luminance (BT.601).
 */
export async function readIntensities(path: string, what: string): Promise<IntensityImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new FlError('radiomics.image', `${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let src: ImageSource;
  let frame: RawFrame;
  try {
    src = openImage(bytes, { name: path });
    if (src.frames > 1) {
      throw new FlError('radiomics.frames', `${path} has ${src.frames} frames; radiomics reads one image: export the frame to analyse (fl data decode --frame N shows them)`);
    }
    frame = await src.frame(0);
  } catch (err) {
    if (err instanceof FlError) throw new FlError(err.code, `${what}: ${err.message}`);
    throw new FlError('radiomics.image', `${what}: cannot decode ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { rows: height, columns: width } = frame;
  const { slope, intercept } = src.rescale;
  const n = width * height;
  const values = new Float64Array(n);
  const d = frame.data;
  for (let i = 0; i < n; i++) {
    const v = frame.channels === 3 ? 0.299 * d[3 * i]! + 0.587 * d[3 * i + 1]! + 0.114 * d[3 * i + 2]! : d[i]!;
    values[i] = v * slope + intercept;
  }
  const spacing = isDicom(bytes) ? dicomSpacing(bytes) : undefined;
  return spacing ? { width, height, values, spacing } : { width, height, values };
}

/** A mask file as 0/1 (non-zero = region). */
export async function readMask(path: string, what: string): Promise<{ width: number; height: number; mask: Uint8Array }> {
  const img = await readIntensities(path, what);
  const mask = new Uint8Array(img.values.length);
  for (let i = 0; i < mask.length; i++) mask[i] = img.values[i] !== 0 ? 1 : 0;
  return { width: img.width, height: img.height, mask };
}
