// The phase payloads that carry the protocol's messages between the coordinator's secure-aggregation
// wrapper (shared/strategies/secure-aggregation.ts) and a site's handler (site-agent/secagg-handler.ts).
// Each phase of a round is one request/answer exchange; payloads are UTF-8 JSON, parsed by zod on
// arrival. The protocol messages inside are checked again by the state machines' own schemas.
import { z } from 'zod';
import { FlError } from '../errors/index.js';
import { advertiseSchema, relaySchema, rosterSchema, sharesSchema, unmaskRequestSchema, unmaskResponseSchema } from './messages.js';
import { sessionSchema } from './session.js';

/** Phase names (the prefix "secagg." routes them to the site's handler and its privacy-guard rule). */
export const PHASE = {
  advertise: 'secagg.advertise',
  share: 'secagg.share',
  relay: 'secagg.relay',
  unmask: 'secagg.unmask',
} as const;

/** advertise: coordinator -> site: the round's session parameters. */
export const advertiseRequestSchema = z.strictObject({ session: sessionSchema });
/** advertise: site -> coordinator: its keys and its training-example count (public, as in a plain upload header). */
export const advertiseReplySchema = z.strictObject({ advertise: advertiseSchema, examples: z.number().int().nonnegative() });
/** share: coordinator -> site: the roster and the public weight total W (weight of a site = its examples / W). */
export const shareRequestSchema = z.strictObject({ roster: rosterSchema, weightTotal: z.number().int().positive() });
export const shareReplySchema = sharesSchema;
export const relayRequestSchema = relaySchema;
export const relayReplySchema = z.strictObject({ ok: z.literal(true) });
export const unmaskRequestEnvelope = unmaskRequestSchema;
export const unmaskReplySchema = unmaskResponseSchema;

export function encodePhase(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Parses a phase payload; throws FlError('secagg.message') naming the phase and the field. */
export function decodePhase<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new FlError('secagg.message', `secure aggregation: ${what} payload is not UTF-8 JSON`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
    throw new FlError('secagg.message', `secure aggregation: malformed ${what} payload refused (${issues})`);
  }
  return r.data;
}
