// Grey level size zones and distance zones (IBSI 1, GLSZM and GLDZM): zones are 8-connected 2D
// groups of equal grey level; a zone's distance is the smallest distance to the region's edge of
// its pixels, the distance of a pixel being the 4-connected (taxicab) number of steps to the nearest
// pixel outside the region (outside the image counts as outside), so border pixels are at 1.
import type { Quantised } from './discretise.js';
import { Entries } from './zone-features.js';

/** Taxicab distance of every region pixel to the nearest non-region pixel (0 outside the region). */
export function edgeDistance(q: Quantised): Int32Array {
  const { width: w, height: h, levels } = q;
  const d = new Int32Array(w * h);
  const big = w + h + 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = y * w + x;
      if (levels[k] === 0) continue;
      const up = y > 0 ? d[k - w]! : 0;
      const left = x > 0 ? d[k - 1]! : 0;
      d[k] = Math.min(big, up + 1, left + 1);
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const k = y * w + x;
      if (levels[k] === 0) continue;
      const down = y < h - 1 ? d[k + w]! : 0;
      const right = x < w - 1 ? d[k + 1]! : 0;
      d[k] = Math.min(d[k]!, down + 1, right + 1);
    }
  }
  return d;
}

/** Zones: (grey level, size) entries for the GLSZM and (grey level, distance) entries for the GLDZM. */
export function zones(q: Quantised): { size: Entries; distance: Entries } {
  const { width: w, height: h, levels } = q;
  const dist = edgeDistance(q);
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  const size = new Entries();
  const distance = new Entries();
  for (let start = 0; start < levels.length; start++) {
    const g = levels[start]!;
    if (g === 0 || seen[start]) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let n = 0;
    let dmin = Infinity;
    while (top > 0) {
      const k = stack[--top]!;
      n++;
      if (dist[k]! < dmin) dmin = dist[k]!;
      const x = k % w;
      const y = (k - x) / w;
      for (let oy = -1; oy <= 1; oy++) {
        const ny = y + oy;
        if (ny < 0 || ny >= h) continue;
        for (let ox = -1; ox <= 1; ox++) {
          const nx = x + ox;
          if (nx < 0 || nx >= w) continue;
          const nk = ny * w + nx;
          if (!seen[nk] && levels[nk] === g) {
            seen[nk] = 1;
            stack[top++] = nk;
          }
        }
      }
    }
    size.push(g, n);
    distance.push(g, dmin);
  }
  return { size, distance };
}
