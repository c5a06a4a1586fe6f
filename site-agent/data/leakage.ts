// Leakage checks on decoded pixel content: the same pixels in rows of different cohorts (a test
// case that is also a training case), or as two modalities of one case (the same file given as
// gsus and ceus). Hashes are of decoded values, so a re-encoded copy of the same pixels is caught.
import { createHash } from 'node:crypto';
import type { ImageSource } from './decode.js';
import type { ManifestProblem } from './manifest.js';

export async function pixelHash(src: ImageSource): Promise<string> {
  const h = createHash('sha256');
  h.update(`${src.rows}x${src.columns}x${src.channels}x${src.frames}:`);
  for (let i = 0; i < src.frames; i++) {
    const f = await src.frame(i);
    h.update(new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength));
  }
  return h.digest('hex');
}

export interface HashedImage {
  readonly line: number;
  readonly caseId?: string;
  readonly cohort?: string;
  readonly modality: string;
  readonly pixelHash: string;
}

/** Errors for cross-cohort and same-case duplicates; warnings for duplicates between cases of one cohort. */
export function findLeaks(images: readonly HashedImage[]): { errors: ManifestProblem[]; warnings: ManifestProblem[] } {
  const groups = new Map<string, HashedImage[]>();
  for (const im of images) {
    const g = groups.get(im.pixelHash);
    if (g) g.push(im);
    else groups.set(im.pixelHash, [im]);
  }
  const errors: ManifestProblem[] = [];
  const warnings: ManifestProblem[] = [];
  const where = (im: HashedImage) => `row ${im.line} (${im.modality}${im.cohort ? `, ${im.cohort}` : ''})`;
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    g.sort((a, b) => a.line - b.line || a.modality.localeCompare(b.modality));
    const rows = g.map(where).join(', ');
    const first = g[0]!;
    const cohorts = new Set(g.map((x) => x.cohort).filter((c) => c !== undefined));
    const sameCase = g.some((a, i) => g.some((b, j) => j > i && a.line === b.line && a.modality !== b.modality));
    if (cohorts.size > 1) {
      errors.push({ line: first.line, column: first.modality, message: `identical image in rows of different cohorts (leakage between ${[...cohorts].join(' and ')}): ${rows}; remove the duplicate or keep the case in one cohort` });
    } else if (sameCase) {
      errors.push({ line: first.line, column: first.modality, message: `the same image is given for two modalities of one case: ${rows}; each modality needs its own image` });
    } else {
      warnings.push({ line: first.line, column: first.modality, message: `identical image in several rows: ${rows}` });
    }
  }
  return { errors, warnings };
}
