// Gaussian noise for differential privacy from a cryptographically strong, optionally seeded,
// generator: the ChaCha20 keystream under key SHA-256(seed). A seed makes runs reproducible; it
// must stay secret to the site (whoever knows it can subtract the noise). Without a seed the key
// is random.
import { createCipheriv, createHash, randomBytes, type Cipher } from 'node:crypto';

const BLOCK = 64 * 1024;
const TWO_POW_53 = 2 ** 53;

export class GaussianSampler {
  private readonly cipher: Cipher;
  private readonly zeros = Buffer.alloc(BLOCK);
  private buf = Buffer.alloc(0);
  private pos = 0;
  private spare: number | null = null;

  constructor(seed?: string | Uint8Array) {
    const key = seed === undefined ? randomBytes(32) : createHash('sha256').update(seed).digest();
    this.cipher = createCipheriv('chacha20', key, Buffer.alloc(16));
  }

  /** Uniform on (0, 1] with 53 random bits. */
  private uniform(): number {
    if (this.pos + 8 > this.buf.length) {
      this.buf = this.cipher.update(this.zeros);
      this.pos = 0;
    }
    const hi = this.buf.readUInt32LE(this.pos) >>> 5; // 27 bits
    const lo = this.buf.readUInt32LE(this.pos + 4) >>> 6; // 26 bits
    this.pos += 8;
    return (hi * 67108864 + lo + 1) / TWO_POW_53;
  }

  /** Standard normal (Box–Muller, both outputs used). */
  standard(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const t = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(t);
    return r * Math.cos(t);
  }

  /** Add N(0, std²) independently to every element, in place. */
  addNoise(data: Float32Array, std: number): void {
    if (!(std >= 0) || !Number.isFinite(std)) throw new Error(`noise standard deviation must be finite and ≥ 0, got ${std}`);
    if (std === 0) return;
    for (let i = 0; i < data.length; i++) data[i] = data[i]! + std * this.standard();
  }
}
