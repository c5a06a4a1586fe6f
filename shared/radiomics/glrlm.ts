// Grey level run length matrix (IBSI 1, "Grey level run length based features"), one per 2D direction.
import type { Quantised } from './discretise.js';
import { Entries } from './zone-features.js';

/** Runs along (dx, dy): one entry (grey level, run length) per maximal run of equal level inside the region. */
export function glrlm(q: Quantised, dx: number, dy: number): Entries {
  const { width, height, levels } = q;
  const e = new Entries();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const g = levels[y * width + x]!;
      if (g === 0) continue;
      const px = x - dx;
      const py = y - dy;
      if (px >= 0 && px < width && py >= 0 && py < height && levels[py * width + px] === g) continue; // not a run start
      let len = 1;
      let cx = x + dx;
      let cy = y + dy;
      while (cx >= 0 && cx < width && cy >= 0 && cy < height && levels[cy * width + cx] === g) {
        len++;
        cx += dx;
        cy += dy;
      }
      e.push(g, len);
    }
  }
  return e;
}
