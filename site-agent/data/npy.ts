// NumPy .npy (format 1.0) writer for decoded pixel arrays: little-endian, C order.
import type { SampleType } from './decode.js';

const DESCR: Record<SampleType | 'float32', string> = {
  uint8: '|u1',
  int8: '|i1',
  uint16: '<u2',
  int16: '<i2',
  uint32: '<u4',
  int32: '<i4',
  float32: '<f4',
};

/** Encodes `data` (host order; Node on x86/ARM is little-endian) as a .npy file of the given shape. */
export function encodeNpy(data: ArrayBufferView, type: SampleType | 'float32', shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = type === 'float32' ? 4 : type.endsWith('8') ? 1 : type.endsWith('16') ? 2 : 4;
  if (data.byteLength !== count * itemSize) throw new Error(`npy: ${data.byteLength} bytes do not fit shape (${shape.join(', ')}) of ${type}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR[type]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
