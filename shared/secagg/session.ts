// What client and server agree on before a round starts (from the study config and the round
// engine), and the derivations both sides compute identically from it.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FlError } from '../errors/index.js';
import { hkdf32, roundSalt, x25519Agree } from './crypto.js';
import { quantizationSchema, validateSecureAggregation } from './params.js';
import { siteIdSchema } from './messages.js';

export const DEFAULT_CHUNK_ELEMENTS = 1 << 16;

export const sessionSchema = z.object({
  study: z.string().min(1).max(200),
  round: z.number().int().nonnegative(),
  /** The sites invited to the round (n of them); their order defines the Shamir points 1..n. */
  sites: z.array(siteIdSchema).min(3).max(10_000),
  threshold: z.number().int().min(2),
  quantization: quantizationSchema,
  /** Length of the ring vector (number of model parameters). */
  elements: z.number().int().positive().max(2 ** 40),
  /** Elements per masked chunk; a multiple of 4 (one AES block). */
  chunkElements: z.number().int().positive().multipleOf(4).default(DEFAULT_CHUNK_ELEMENTS),
}).strict();

export type SessionInput = z.input<typeof sessionSchema>;

export class Session {
  readonly study: string;
  readonly round: number;
  readonly sites: readonly string[];
  readonly threshold: number;
  readonly quantization: z.infer<typeof quantizationSchema>;
  readonly elements: number;
  readonly chunkElements: number;
  readonly salt: Buffer;
  private readonly index = new Map<string, number>();

  constructor(input: SessionInput) {
    const r = sessionSchema.safeParse(input);
    if (!r.success) {
      const issues = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new FlError('config.invalid', `secure aggregation session: ${issues}`);
    }
    const s = r.data;
    s.sites.forEach((site, i) => {
      if (this.index.has(site)) throw new FlError('config.invalid', `secure aggregation session: site "${site}" listed twice`);
      this.index.set(site, i);
    });
    validateSecureAggregation({ enabled: true, threshold: s.threshold, quantization: s.quantization }, s.sites.length);
    this.study = s.study;
    this.round = s.round;
    this.sites = [...s.sites];
    this.threshold = s.threshold;
    this.quantization = s.quantization;
    this.elements = s.elements;
    this.chunkElements = s.chunkElements;
    this.salt = roundSalt(s.study, s.round);
  }

  get n(): number {
    return this.sites.length;
  }

  has(site: string): boolean {
    return this.index.has(site);
  }

  /** The site's Shamir evaluation point, 1..n. */
  point(site: string): number {
    const i = this.index.get(site);
    if (i === undefined) throw new FlError('secagg.site', `site "${site}" is not a participant of round ${this.round} of study ${this.study}`);
    return i + 1;
  }

  /** Sorts a set of sites into session order. */
  ordered(sites: Iterable<string>): string[] {
    return [...sites].sort((a, b) => this.point(a) - this.point(b));
  }

  /** Data signed with an advertisement: binds the keys to the site, the study and the round. */
  advertiseSigned(site: string, encKey: string, maskKey: string): Buffer {
    return Buffer.concat([this.salt, Buffer.from(JSON.stringify(['advertise', site, encKey, maskKey]))]);
  }

  /** Data signed in the consistency check: the survivor list of this round. */
  survivorsSigned(survivors: readonly string[]): Buffer {
    return Buffer.concat([this.salt, Buffer.from(JSON.stringify(['survivors', this.ordered(survivors)]))]);
  }

  /** AAD of the share ciphertext from `from` to `to`. */
  shareAad(from: string, to: string): Buffer {
    return Buffer.concat([this.salt, Buffer.from(JSON.stringify(['share', from, to]))]);
  }

  /** Key encrypting shares between two sites (same both ways; the AAD tells the direction). */
  shareKey(mySecret: Uint8Array, peerPublic: Uint8Array, me: string, peer: string): Buffer {
    const [a, b] = this.point(me) < this.point(peer) ? [me, peer] : [peer, me];
    return hkdf32(x25519Agree(mySecret, peerPublic), this.salt, JSON.stringify(['share-key', a, b]));
  }

  /** PRG seed of the pairwise mask between two sites. */
  pairSeed(mySecret: Uint8Array, peerPublic: Uint8Array, me: string, peer: string): Buffer {
    const [a, b] = this.point(me) < this.point(peer) ? [me, peer] : [peer, me];
    return hkdf32(x25519Agree(mySecret, peerPublic), this.salt, JSON.stringify(['pair-mask', a, b]));
  }

  /** PRG key of a site's self mask, from its 32-byte seed b_u. */
  selfMaskKey(seed: Uint8Array): Buffer {
    return hkdf32(seed, this.salt, 'self-mask');
  }

  /**
   * +1 when `me` adds the pairwise mask shared with `peer`, -1 when it subtracts it: the site
   * earlier in session order adds, so the two masks cancel in the sum.
   */
  pairSign(me: string, peer: string): 1 | -1 {
    return this.point(me) < this.point(peer) ? 1 : -1;
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
