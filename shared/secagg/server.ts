// The coordinator's side of secure aggregation: a pure state machine (no I/O, no timers). The
// round engine feeds it the messages it receives and calls `close*()` when a phase's deadline
// passes or every expected site has answered; each close returns what to send, or throws
// `secagg.too-few` when fewer than T sites remain (the round then fails with nothing revealed).
//
//   receiveAdvertise*  closeAdvertise() -> Roster (to all of U1)
//   receiveShares*     closeShares()    -> Relay[] (one per site of U2)
//   receiveMaskedDone* closeMasked()    -> ConsistencyRequest (signed mode) or UnmaskRequest (to U3)
//   receiveConsistency* closeConsistency() -> UnmaskRequest (signed mode)
//   receiveUnmask*     unmask(read)     -> the exact sum of U3's quantised vectors
//
// The server never sees an individual unmasked input: it holds masked uploads (in the spool),
// and for each site of U2 either its self-mask seed (survivor) or its mask key (dropped).
import { createHash, type KeyObject } from 'node:crypto';
import { FlError } from '../errors/index.js';
import { verifyBytes, x25519FromSecret } from './crypto.js';
import {
  advertiseSchema, consistencySchema, maskedInputDoneSchema, parseMessage, sharesSchema, unmaskResponseSchema,
  type Advertise, type ConsistencyRequest, type MaskedInputDone, type Relay, type Roster, type Shares, type UnmaskRequest, type UnmaskResponse,
} from './messages.js';
import { Session, type SessionInput } from './session.js';
import { bigIntToBytes, bytesToBigInt, reconstruct, type Share } from './shamir.js';
import { unmaskSum, type MaskedReader } from './unmask.js';

export interface ServerOptions {
  /** Signed mode: every participant's identity public key; advertisements and survivor lists must be signed. */
  readonly peers?: ReadonlyMap<string, KeyObject>;
}

type Phase = 'advertise' | 'share' | 'masked' | 'consistency' | 'unmask' | 'done' | 'failed';

/** What the study log records of a secure-aggregation round, and all an audit replay needs. */
export interface SecAggResult {
  /** Exact sum mod 2^32 of the survivors' quantised vectors (no wrap by construction). */
  readonly sum: Uint32Array;
  /** U3, in session order: the sites whose inputs are in the sum. */
  readonly survivors: readonly string[];
  /** Sites of U2 that dropped before their masked input (their mask keys were reconstructed). */
  readonly dropped: readonly string[];
  /** Sum of the survivors' declared weights (divide the dequantised sum by it for the weighted mean). */
  readonly weightSum: number;
  readonly threshold: number;
  /** SHA-256 of each survivor's masked upload. */
  readonly uploadDigests: Readonly<Record<string, string>>;
  /** SHA-256 of the sum (little-endian uint32). */
  readonly aggregateSha256: string;
  /** Revealed secrets (base64): self seeds of survivors, mask keys of dropped sites. */
  readonly revealed: {
    readonly selfSeeds: Readonly<Record<string, string>>;
    readonly droppedMaskKeys: Readonly<Record<string, string>>;
  };
  /** Advertised mask public keys of U2 (base64), needed to replay the unmasking. */
  readonly maskKeys: Readonly<Record<string, string>>;
}

function refuse(code: string, message: string): never {
  throw new FlError(code, `secure aggregation: ${message}`);
}

export class SecAggServer {
  readonly session: Session;
  private phase: Phase = 'advertise';
  private readonly peers: ServerOptions['peers'];
  private readonly adverts = new Map<string, Advertise>();
  private readonly shares = new Map<string, Shares>();
  private u1: string[] = [];
  private u2: string[] = [];
  private readonly masked = new Map<string, MaskedInputDone>();
  private u3: string[] = [];
  private readonly signatures = new Map<string, string>();
  private readonly responses = new Map<string, UnmaskResponse>();
  private failure: string | null = null;

  constructor(session: SessionInput | Session, options: ServerOptions = {}) {
    this.session = session instanceof Session ? session : new Session(session);
    this.peers = options.peers;
    if (this.peers) for (const s of this.session.sites) if (!this.peers.has(s)) refuse('config.invalid', `signed mode: no identity key for site ${s}`);
  }

  get state(): Phase {
    return this.phase;
  }

  /** Why the round failed, if it did. */
  get failedBecause(): string | null {
    return this.failure;
  }

  private expect(phase: Phase, what: string): void {
    if (this.phase !== phase) refuse('secagg.phase', `${what} arrived in phase "${this.phase}" (accepted only in "${phase}"); late, early or replayed message refused`);
  }

  private checkSender(m: { study: string; round: number; site: string }, allowed: readonly string[], seen: Map<string, unknown>, what: string): void {
    const s = this.session;
    if (m.study !== s.study || m.round !== s.round) refuse('secagg.replay', `${what} from ${m.site} is for study ${m.study} round ${m.round}, not study ${s.study} round ${s.round}; refused`);
    if (!allowed.includes(m.site)) refuse('secagg.site', `${what} from ${m.site}, who is not expected in this phase; refused`);
    if (seen.has(m.site)) refuse('secagg.replay', `second ${what} from ${m.site} refused`);
  }

  private fail(reason: string): never {
    this.phase = 'failed';
    this.failure = reason;
    throw new FlError('secagg.too-few', `secure aggregation: round ${this.session.round} of study ${this.session.study} failed: ${reason}; nothing was revealed`);
  }

  private need(count: number, what: string): void {
    if (count < this.session.threshold) this.fail(`${count} ${what}, fewer than the threshold T=${this.session.threshold}`);
  }

  receiveAdvertise(raw: unknown): void {
    const m = parseMessage(advertiseSchema, raw, 'advertise');
    this.expect('advertise', `advertisement from ${m.site}`);
    this.checkSender(m, this.session.sites, this.adverts, 'advertisement');
    if (this.peers) {
      const ok = m.signature !== undefined && verifyBytes(this.peers.get(m.site)!, this.session.advertiseSigned(m.site, m.encKey, m.maskKey), Buffer.from(m.signature, 'base64'));
      if (!ok) refuse('secagg.signature', `advertisement of site ${m.site} is not signed by its identity key; refused`);
    }
    this.adverts.set(m.site, m);
  }

  closeAdvertise(): Roster {
    this.expect('advertise', 'closeAdvertise()');
    this.need(this.adverts.size, 'sites advertised keys');
    this.u1 = this.session.ordered(this.adverts.keys());
    this.phase = 'share';
    return { type: 'secagg.roster', study: this.session.study, round: this.session.round, keys: this.u1.map((u) => this.adverts.get(u)!) };
  }

  receiveShares(raw: unknown): void {
    const m = parseMessage(sharesSchema, raw, 'shares');
    this.expect('share', `shares from ${m.site}`);
    this.checkSender(m, this.u1, this.shares, 'shares');
    const to = new Set(m.shares.map((e) => e.to));
    const want = this.u1.filter((u) => u !== m.site);
    if (to.size !== m.shares.length || to.size !== want.length || !want.every((u) => to.has(u))) {
      refuse('secagg.shares', `shares from ${m.site} must address each other site of the roster exactly once`);
    }
    this.shares.set(m.site, m);
  }

  closeShares(): Relay[] {
    this.expect('share', 'closeShares()');
    this.need(this.shares.size, 'sites shared their keys');
    this.u2 = this.session.ordered(this.shares.keys());
    this.phase = 'masked';
    const s = this.session;
    return this.u2.map((v) => ({
      type: 'secagg.relay' as const,
      study: s.study,
      round: s.round,
      to: v,
      shares: this.u2.filter((u) => u !== v).map((u) => ({ from: u, ciphertext: this.shares.get(u)!.shares.find((e) => e.to === v)!.ciphertext })),
    }));
  }

  /** A site's masked upload is complete in the spool (its transport verified the bytes). */
  receiveMaskedDone(raw: unknown): void {
    const m = parseMessage(maskedInputDoneSchema, raw, 'masked input');
    this.expect('masked', `masked input of ${m.site}`);
    this.checkSender(m, this.u2, this.masked, 'masked input');
    if (m.elements !== this.session.elements) refuse('secagg.upload', `masked input of ${m.site} has ${m.elements} elements, the round ${this.session.elements}`);
    this.masked.set(m.site, m);
  }

  closeMasked(): ConsistencyRequest | UnmaskRequest {
    this.expect('masked', 'closeMasked()');
    this.need(this.masked.size, 'masked inputs arrived');
    this.u3 = this.session.ordered(this.masked.keys());
    const s = this.session;
    if (this.peers) {
      this.phase = 'consistency';
      return { type: 'secagg.consistency-request', study: s.study, round: s.round, survivors: this.u3 };
    }
    this.phase = 'unmask';
    return this.unmaskRequest();
  }

  private unmaskRequest(): UnmaskRequest {
    const s = this.session;
    const dropped = this.u2.filter((u) => !this.masked.has(u));
    const req: UnmaskRequest = { type: 'secagg.unmask-request', study: s.study, round: s.round, survivors: this.u3, dropped };
    if (this.peers) req.signatures = [...this.signatures].map(([site, signature]) => ({ site, signature }));
    return req;
  }

  receiveConsistency(raw: unknown): void {
    const m = parseMessage(consistencySchema, raw, 'consistency');
    this.expect('consistency', `consistency signature of ${m.site}`);
    this.checkSender(m, this.u3, this.signatures, 'consistency signature');
    if (!verifyBytes(this.peers!.get(m.site)!, this.session.survivorsSigned(this.u3), Buffer.from(m.signature, 'base64'))) {
      refuse('secagg.signature', `consistency signature of ${m.site} does not verify; refused`);
    }
    this.signatures.set(m.site, m.signature);
  }

  closeConsistency(): UnmaskRequest {
    this.expect('consistency', 'closeConsistency()');
    this.need(this.signatures.size, 'sites signed the survivor list');
    this.phase = 'unmask';
    return this.unmaskRequest();
  }

  receiveUnmask(raw: unknown): void {
    const m = parseMessage(unmaskResponseSchema, raw, 'unmask response');
    this.expect('unmask', `unmask response of ${m.site}`);
    const allowed = this.peers ? [...this.signatures.keys()] : this.u3;
    this.checkSender(m, allowed, this.responses, 'unmask response');
    const dropped = this.u2.filter((u) => !this.masked.has(u));
    const same = (got: { of: string }[], want: string[]) => got.length === want.length && want.every((w) => got.some((g) => g.of === w));
    if (!same(m.seedShares, this.u3) || !same(m.keyShares, dropped)) {
      refuse('secagg.unmask', `unmask response of ${m.site} must hold one seed share per survivor and one key share per dropped site`);
    }
    this.responses.set(m.site, m);
  }

  /**
   * Reconstructs the secrets from at least T responses and removes the masks from the sum of the
   * survivors' masked uploads, read chunk by chunk through `read`. Fewer than T responses: fails
   * with nothing revealed (the sum stays masked by the self masks).
   */
  async unmask(read: MaskedReader): Promise<SecAggResult> {
    this.expect('unmask', 'unmask()');
    this.need(this.responses.size, 'sites answered the unmask request');
    const s = this.session;
    const responders = s.ordered(this.responses.keys());
    const collect = (of: string, kind: 'seedShares' | 'keyShares'): Share[] =>
      responders.map((r) => ({ x: s.point(r), y: bytesToBigInt(Buffer.from(this.responses.get(r)![kind].find((e) => e.of === of)!.share, 'base64')) }));
    const secret = (of: string, kind: 'seedShares' | 'keyShares'): Buffer => {
      let v: bigint;
      try {
        v = reconstruct(collect(of, kind), s.threshold);
      } catch (err) {
        this.phase = 'failed';
        throw new FlError('secagg.share-mismatch', `secure aggregation: the ${kind === 'seedShares' ? 'self-mask seed' : 'mask key'} of site ${of} cannot be reconstructed: ${(err as Error).message}`, { cause: err });
      }
      if (v >= 1n << 256n) {
        this.phase = 'failed';
        refuse('secagg.share-mismatch', `reconstructed secret of site ${of} is out of range (altered shares)`);
      }
      return bigIntToBytes(v, 32);
    };
    const selfSeeds = new Map(this.u3.map((u) => [u, secret(u, 'seedShares')]));
    const dropped = this.u2.filter((u) => !this.masked.has(u));
    const droppedKeys = new Map<string, Buffer>();
    for (const v of dropped) {
      const key = secret(v, 'keyShares');
      if (!x25519FromSecret(key).public.equals(Buffer.from(this.adverts.get(v)!.maskKey, 'base64'))) {
        this.phase = 'failed';
        refuse('secagg.share-mismatch', `reconstructed mask key of dropped site ${v} does not match its advertised key (altered shares)`);
      }
      droppedKeys.set(v, key);
    }
    const maskKeys = new Map(this.u2.map((u) => [u, Buffer.from(this.adverts.get(u)!.maskKey, 'base64')]));
    const digests = new Map(this.u3.map((u) => [u, this.masked.get(u)!.sha256]));
    const sum = await unmaskSum({ session: s, survivors: this.u3, maskKeys, selfSeeds, droppedKeys, digests }, read);
    this.phase = 'done';
    const b64 = (m: Map<string, Buffer>) => Object.fromEntries([...m].map(([k, v]) => [k, v.toString('base64')]));
    return {
      sum,
      survivors: this.u3,
      dropped,
      weightSum: this.u3.reduce((a, u) => a + this.masked.get(u)!.weight, 0),
      threshold: s.threshold,
      uploadDigests: Object.fromEntries(digests),
      aggregateSha256: createHash('sha256').update(new Uint8Array(sum.buffer, sum.byteOffset, sum.byteLength)).digest('hex'),
      revealed: { selfSeeds: b64(selfSeeds), droppedMaskKeys: b64(droppedKeys) },
      maskKeys: b64(maskKeys),
    };
  }
}
