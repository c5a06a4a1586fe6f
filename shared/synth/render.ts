// Renders the grayscale (B-mode) and contrast-enhanced ultrasound images of one lymph node.
import { blank, boxBlur, softInside, speckle, type Gray } from './image-ops.js';
import { ellipseRadius, type CeusAppearance, type GsusAppearance } from './lymph-node.js';
import type { Rng } from './rng.js';
import type { ScannerProfile } from './scanner.js';

function applyScanner(img: Gray, scanner: ScannerProfile, speckleScale: number, rng: Rng): Gray {
  const scale = img.width / 128;
  speckle(img, scanner.speckle * speckleScale, scanner.grain * scale, rng);
  const out = boxBlur(img, Math.round(scanner.blur * scale));
  const { width: W, height: H, data } = out;
  for (let y = 0; y < H; y++) {
    const att = scanner.gain * Math.exp((-scanner.attenuation * y) / H);
    for (let x = 0; x < W; x++) data[y * W + x] = Math.min(1, data[y * W + x]! * att);
  }
  return out;
}

/** B-mode: echogenic layered soft tissue, hypoechoic cortex, hyperechoic fatty hilum, speckle. */
export function renderGsus(app: GsusAppearance, scanner: ScannerProfile, size: number, rng: Rng): Gray {
  const img = blank(size, size);
  const { node } = app;
  const edge = 1.5 / Math.min(node.a, node.b);
  const bandPhase = rng.uniform(0, 2 * Math.PI);
  const bandFreq = rng.uniform(0.08, 0.16) * (128 / size);
  const hf = app.hilumFraction;
  const hOff = app.hilumOffset * node.a;
  for (let y = 0; y < size; y++) {
    const tissue = 0.42 + 0.08 * Math.sin(y * bandFreq + bandPhase);
    for (let x = 0; x < size; x++) {
      const inNode = softInside(ellipseRadius(node, x, y) - 1, edge);
      let v = tissue * (1 - inNode) + 0.13 * inNode;
      if (hf > 0) {
        const inHilum = softInside(ellipseRadius(node, x, y, hOff, 0, hf) - 1, edge / hf);
        v = v * (1 - inHilum) + 0.72 * inHilum;
      }
      img.data[y * size + x] = v;
    }
  }
  return applyScanner(img, scanner, 1, rng);
}

/** CEUS (arterial phase): weakly enhancing surroundings, enhancing node, heterogeneity and perfusion defects. */
export function renderCeus(app: CeusAppearance, scanner: ScannerProfile, size: number, rng: Rng): Gray {
  const img = blank(size, size);
  const { node } = app;
  const edge = 2 / Math.min(node.a, node.b);
  const c = Math.cos(node.angle);
  const s = Math.sin(node.angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = ellipseRadius(node, x, y);
      const inNode = softInside(r - 1, edge);
      let v = 0.16;
      if (inNode > 0) {
        // Node-relative coordinates: u along the long axis, v along the short one, both in [-1, 1].
        const dx = x - node.cx;
        const dy = y - node.cy;
        const u = (dx * c + dy * s) / node.a;
        const w = (-dx * s + dy * c) / node.b;
        let e = 0.8;
        for (const bl of app.blobs) {
          const d2 = ((u - bl.u) ** 2 + (w - bl.v) ** 2) / (bl.r * bl.r);
          e += app.heterogeneity * bl.amp * Math.exp(-d2);
        }
        for (const d of app.defects) {
          const dr = Math.sqrt(((u - d.u) * node.a) ** 2 + ((w - d.v) * node.b) ** 2) / (d.r * node.b);
          const inDefect = softInside(dr - 1, 0.25);
          e = e * (1 - inDefect) + 0.1 * inDefect;
        }
        v = v * (1 - inNode) + Math.max(0.05, e) * inNode;
      }
      img.data[y * size + x] = v;
    }
  }
  return applyScanner(img, scanner, 0.6, rng);
}
