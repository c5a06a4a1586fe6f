// The protocol's messages: plain JSON-serialisable objects (binary fields in base64), one zod
// schema each. Every message received by a client or the server goes through its schema first;
// the state machines then check what a schema cannot (phase, round, sender, duplicates).
// Masked inputs are not messages: they are byte buffers (little-endian uint32, the ring vector)
// carried by the ordinary chunked upload; only their digest travels as `MaskedInputDone`.
import { z } from 'zod';
import { FlError } from '../errors/index.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Base64 of exactly `bytes` bytes (or between min and max when a range is given). */
function b64(min: number, max = min) {
  return z.string().max(4 * Math.ceil(max / 3)).regex(BASE64, 'not base64').refine((s) => {
    const n = Buffer.from(s, 'base64').length;
    return n >= min && n <= max;
  }, min === max ? `must decode to ${min} bytes` : `must decode to ${min}..${max} bytes`);
}

export const siteIdSchema = z.string().min(1).max(200);
const header = {
  study: z.string().min(1).max(200),
  round: z.number().int().nonnegative(),
};
const signature = b64(32, 160);

/** Phase 1, site -> server: the site's two public keys for this round (and their signature). */
export const advertiseSchema = z.object({
  type: z.literal('secagg.advertise'),
  ...header,
  site: siteIdSchema,
  /** X25519 public key for encrypting shares to this site (c_u^PK). */
  encKey: b64(32),
  /** X25519 public key from which pairwise masks are agreed (s_u^PK). */
  maskKey: b64(32),
  /** Ed25519 signature of (round salt, site, encKey, maskKey) with the site's identity key. */
  signature: signature.optional(),
}).strict();

/** Phase 1 result, server -> every site in U1: everyone's advertised keys. */
export const rosterSchema = z.object({
  type: z.literal('secagg.roster'),
  ...header,
  keys: z.array(advertiseSchema).min(1).max(10_000),
}).strict();

/** Phase 2, site -> server: Shamir shares of its self-mask seed and mask key, encrypted per peer. */
export const sharesSchema = z.object({
  type: z.literal('secagg.shares'),
  ...header,
  site: siteIdSchema,
  shares: z.array(z.object({ to: siteIdSchema, ciphertext: b64(12 + 16 + 132) }).strict()).min(1).max(10_000),
}).strict();

/** Phase 2 result, server -> each site in U2: the ciphertexts addressed to it. */
export const relaySchema = z.object({
  type: z.literal('secagg.relay'),
  ...header,
  to: siteIdSchema,
  shares: z.array(z.object({ from: siteIdSchema, ciphertext: b64(12 + 16 + 132) }).strict()).min(1).max(10_000),
}).strict();

/** Phase 3, site -> server, after its masked upload completed: what the server must find in the spool. */
export const maskedInputDoneSchema = z.object({
  type: z.literal('secagg.masked'),
  ...header,
  site: siteIdSchema,
  elements: z.number().int().positive(),
  /** The site's weight factor w in [0, 1] (public, like the example count of a plain upload). */
  weight: z.number().min(0).max(1),
  /** SHA-256 (hex) of the masked upload's bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
}).strict();

/** Phase 4a (signed mode only), server -> U3: the survivor list each site is asked to sign. */
export const consistencyRequestSchema = z.object({
  type: z.literal('secagg.consistency-request'),
  ...header,
  survivors: z.array(siteIdSchema).min(1).max(10_000),
}).strict();

/** Phase 4a reply, site -> server: its signature of the survivor list. */
export const consistencySchema = z.object({
  type: z.literal('secagg.consistency'),
  ...header,
  site: siteIdSchema,
  signature,
}).strict();

/** Phase 4, server -> U3: who survived (send me their seed shares) and who dropped (their key shares). */
export const unmaskRequestSchema = z.object({
  type: z.literal('secagg.unmask-request'),
  ...header,
  survivors: z.array(siteIdSchema).min(1).max(10_000),
  dropped: z.array(siteIdSchema).max(10_000),
  /** Signed mode: at least T survivors' signatures of the same survivor list. */
  signatures: z.array(z.object({ site: siteIdSchema, signature }).strict()).max(10_000).optional(),
}).strict();

/** Phase 4 reply, site -> server: one share per site of U2, never both kinds for one site. */
export const unmaskResponseSchema = z.object({
  type: z.literal('secagg.unmask'),
  ...header,
  site: siteIdSchema,
  seedShares: z.array(z.object({ of: siteIdSchema, share: b64(66) }).strict()).max(10_000),
  keyShares: z.array(z.object({ of: siteIdSchema, share: b64(66) }).strict()).max(10_000),
}).strict();

export type Advertise = z.infer<typeof advertiseSchema>;
export type Roster = z.infer<typeof rosterSchema>;
export type Shares = z.infer<typeof sharesSchema>;
export type Relay = z.infer<typeof relaySchema>;
export type MaskedInputDone = z.infer<typeof maskedInputDoneSchema>;
export type ConsistencyRequest = z.infer<typeof consistencyRequestSchema>;
export type Consistency = z.infer<typeof consistencySchema>;
export type UnmaskRequest = z.infer<typeof unmaskRequestSchema>;
export type UnmaskResponse = z.infer<typeof unmaskResponseSchema>;

/** Parses a received message, or throws a FlError naming the message and the offending field. */
export function parseMessage<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
    throw new FlError('secagg.message', `secure aggregation: malformed ${what} message refused (${issues})`);
  }
  return r.data;
}
