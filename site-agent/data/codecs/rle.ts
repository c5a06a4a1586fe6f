// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header with up to 15 segment offsets; one PackBits
// segment per byte plane (for each sample, most significant byte first).

/**
 * Decodes one RLE frame into interleaved little-endian samples: rows*cols pixels, `samples`
 * components of `bytesPerSample` bytes each.
 */
export function decodeRleFrame(encoded: Uint8Array, rows: number, cols: number, samples: number, bytesPerSample: number): Uint8Array {
  if (encoded.length < 64) throw new Error(`RLE frame of ${encoded.length} bytes is shorter than its 64-byte header`);
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const nSeg = view.getUint32(0, true);
  const expected = samples * bytesPerSample;
  if (nSeg !== expected) throw new Error(`RLE frame has ${nSeg} segments, expected ${expected} (${samples} samples x ${bytesPerSample} bytes)`);
  const offsets: number[] = [];
  for (let s = 0; s < nSeg; s++) offsets.push(view.getUint32(4 + 4 * s, true));
  const n = rows * cols;
  const out = new Uint8Array(n * expected);
  for (let s = 0; s < nSeg; s++) {
    const start = offsets[s]!;
    const end = s + 1 < nSeg ? offsets[s + 1]! : encoded.length;
    if (start < 64 || start > end || end > encoded.length) throw new Error(`RLE segment ${s + 1} has an invalid offset ${start}`);
    const sample = Math.floor(s / bytesPerSample);
    // Segment order within a sample is most significant byte first; output is little-endian.
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    const stride = expected;
    let o = sample * bytesPerSample + byteInSample;
    let px = 0;
    let i = start;
    while (px < n && i < end) {
      const h = encoded[i++]!;
      const c = h > 127 ? h - 256 : h;
      if (c >= 0) {
        for (let k = 0; k <= c && px < n; k++, px++, o += stride) out[o] = encoded[i + k]!;
        i += c + 1;
      } else if (c !== -128) {
        const v = encoded[i++]!;
        for (let k = 0; k < 1 - c && px < n; k++, px++, o += stride) out[o] = v;
      }
    }
    if (px < n) throw new Error(`RLE segment ${s + 1} ends after ${px} of ${n} pixels (truncated frame)`);
  }
  return out;
}
