// The site's side of secure aggregation: a pure state machine (no I/O). The round engine carries
// its messages; the masked upload is produced chunk by chunk as bytes for the chunked uploader.
//
//   advertise()                    -> Advertise            (phase 1)
//   receiveRoster(Roster)          -> Shares               (phase 2)
//   receiveRelay(Relay)            -> (ready to mask)
//   maskedChunks(fill) / maskChunk -> bytes                (phase 3, O(chunk) memory)
//   maskedDone()                   -> MaskedInputDone
//   receiveConsistencyRequest(...) -> Consistency          (phase 4a, signed mode only)
//   receiveUnmaskRequest(...)      -> UnmaskResponse       (phase 4; answered once per round)
import { createHash, randomBytes, type Hash, type KeyObject } from 'node:crypto';
import { FlError } from '../errors/index.js';
import { PrgStream, openShare, sealShare, signBytes, verifyBytes, x25519FromSecret, x25519Generate, type X25519Pair } from './crypto.js';
import {
  consistencyRequestSchema, parseMessage, relaySchema, rosterSchema, unmaskRequestSchema,
  type Advertise, type Consistency, type MaskedInputDone, type Shares, type UnmaskResponse,
} from './messages.js';
import { quantizeInto } from './quantize.js';
import { Session, type SessionInput } from './session.js';
import { SHARE_BYTES, bigIntToBytes, bytesToBigInt, split } from './shamir.js';

export interface ClientOptions {
  /** Signed mode: this site's identity (Ed25519) private key, and every participant's public key. */
  readonly identity?: { readonly privateKey: KeyObject; readonly peers: ReadonlyMap<string, KeyObject> };
  /** Fixed secrets, for reproducible tests and reference fixtures only (default: fresh random). */
  readonly secrets?: { readonly encSecret: Uint8Array; readonly maskSecret: Uint8Array; readonly selfSeed: Uint8Array };
}

type Phase = 'start' | 'advertised' | 'shared' | 'masking' | 'masked' | 'signed' | 'done' | 'failed';

function refuse(code: string, message: string): never {
  throw new FlError(code, `secure aggregation: ${message}`);
}

export class SecAggClient {
  readonly session: Session;
  readonly site: string;
  private phase: Phase = 'start';
  private readonly enc: X25519Pair;
  private readonly mask: X25519Pair;
  private readonly selfSeed: Buffer;
  private readonly identity: ClientOptions['identity'];
  /** U1 as advertised (site -> keys), set by the roster. */
  private roster = new Map<string, Advertise>();
  /** U2: the sites whose shares reached this site (and itself). */
  private u2: string[] = [];
  /** Shares received: of site -> [share of its self seed, share of its mask key] at this site's point. */
  private readonly held = new Map<string, { seed: Buffer; key: Buffer }>();
  private streams: PrgStream[] = [];
  private hash: Hash | null = null;
  private next = 0;
  private weight = 1;
  private survivorsSigned: string[] | null = null;
  private zeros = Buffer.alloc(0);

  constructor(session: SessionInput | Session, site: string, options: ClientOptions = {}) {
    this.session = session instanceof Session ? session : new Session(session);
    if (!this.session.has(site)) refuse('secagg.site', `site "${site}" is not among the round's participants`);
    this.site = site;
    this.identity = options.identity;
    if (options.secrets) {
      this.enc = x25519FromSecret(options.secrets.encSecret);
      this.mask = x25519FromSecret(options.secrets.maskSecret);
      this.selfSeed = Buffer.from(options.secrets.selfSeed);
    } else {
      this.enc = x25519Generate();
      this.mask = x25519Generate();
      this.selfSeed = randomBytes(32);
    }
    if (this.selfSeed.length !== 32) refuse('secagg.key', 'self-mask seed must be 32 bytes');
  }

  get state(): Phase {
    return this.phase;
  }

  private expect(phase: Phase, what: string): void {
    if (this.phase !== phase) refuse('secagg.phase', `site ${this.site} got ${what} in phase "${this.phase}" (expected in "${phase}"); out-of-order or replayed message refused`);
  }

  private checkHeader(m: { study: string; round: number }, what: string): void {
    if (m.study !== this.session.study || m.round !== this.session.round) {
      refuse('secagg.replay', `${what} for study ${m.study} round ${m.round} refused by site ${this.site} (this is study ${this.session.study} round ${this.session.round})`);
    }
  }

  /** Phase 1: the two public keys of this round. */
  advertise(): Advertise {
    this.expect('start', 'advertise()');
    const encKey = this.enc.public.toString('base64');
    const maskKey = this.mask.public.toString('base64');
    const msg: Advertise = { type: 'secagg.advertise', study: this.session.study, round: this.session.round, site: this.site, encKey, maskKey };
    if (this.identity) msg.signature = signBytes(this.identity.privateKey, this.session.advertiseSigned(this.site, encKey, maskKey)).toString('base64');
    this.phase = 'advertised';
    return msg;
  }

  /** Phase 2: checks the roster, then Shamir-shares the self seed and the mask key, encrypted per peer. */
  receiveRoster(raw: unknown): Shares {
    const m = parseMessage(rosterSchema, raw, 'roster');
    this.expect('advertised', 'a roster');
    this.checkHeader(m, 'roster');
    const s = this.session;
    const roster = new Map<string, Advertise>();
    const seenKeys = new Set<string>();
    for (const k of m.keys) {
      this.checkHeader(k, `advertisement of ${k.site}`);
      if (!s.has(k.site)) refuse('secagg.site', `roster names site "${k.site}", not a participant`);
      if (roster.has(k.site)) refuse('secagg.roster', `roster lists site ${k.site} twice`);
      if (seenKeys.has(k.encKey) || seenKeys.has(k.maskKey)) refuse('secagg.roster', `roster reuses a public key (site ${k.site}); refused`);
      seenKeys.add(k.encKey).add(k.maskKey);
      if (this.identity) {
        const pub = this.identity.peers.get(k.site);
        if (!pub || !k.signature || !verifyBytes(pub, s.advertiseSigned(k.site, k.encKey, k.maskKey), Buffer.from(k.signature, 'base64'))) {
          refuse('secagg.signature', `advertised keys of site ${k.site} are not signed by its identity key; refused`);
        }
      }
      roster.set(k.site, k);
    }
    const mine = roster.get(this.site);
    if (!mine || mine.encKey !== this.enc.public.toString('base64') || mine.maskKey !== this.mask.public.toString('base64')) {
      refuse('secagg.roster', `roster does not carry site ${this.site}'s own keys unchanged`);
    }
    if (roster.size < s.threshold) refuse('secagg.too-few', `roster has ${roster.size} sites, fewer than the threshold ${s.threshold}`);
    this.roster = roster;
    const peers = s.ordered(roster.keys());
    const seedShares = split(bytesToBigInt(this.selfSeed), s.threshold, s.n);
    const keyShares = split(bytesToBigInt(this.mask.secret), s.threshold, s.n);
    const out: Shares['shares'] = [];
    for (const v of peers) {
      const p = s.point(v);
      const plain = Buffer.concat([bigIntToBytes(seedShares[p - 1]!.y, SHARE_BYTES), bigIntToBytes(keyShares[p - 1]!.y, SHARE_BYTES)]);
      if (v === this.site) {
        this.held.set(v, { seed: plain.subarray(0, SHARE_BYTES), key: plain.subarray(SHARE_BYTES) });
        continue;
      }
      const key = s.shareKey(this.enc.secret, Buffer.from(roster.get(v)!.encKey, 'base64'), this.site, v);
      out.push({ to: v, ciphertext: sealShare(key, plain, s.shareAad(this.site, v)).toString('base64') });
    }
    this.phase = 'shared';
    return { type: 'secagg.shares', study: s.study, round: s.round, site: this.site, shares: out };
  }

  /** Phase 2 result: decrypts the shares addressed to this site and agrees the pairwise mask seeds with U2. */
  receiveRelay(raw: unknown): void {
    const m = parseMessage(relaySchema, raw, 'share relay');
    this.expect('shared', 'a share relay');
    this.checkHeader(m, 'share relay');
    const s = this.session;
    if (m.to !== this.site) refuse('secagg.relay', `share relay addressed to ${m.to} delivered to site ${this.site}`);
    const from = new Set<string>();
    for (const e of m.shares) {
      const adv = this.roster.get(e.from);
      if (!adv) refuse('secagg.relay', `share relay carries shares from ${e.from}, who is not in the roster`);
      if (e.from === this.site || from.has(e.from)) refuse('secagg.relay', `share relay carries two ciphertexts from ${e.from}`);
      from.add(e.from);
      const key = s.shareKey(this.enc.secret, Buffer.from(adv.encKey, 'base64'), this.site, e.from);
      const plain = openShare(key, Buffer.from(e.ciphertext, 'base64'), s.shareAad(e.from, this.site));
      if (!plain || plain.length !== 2 * SHARE_BYTES) refuse('secagg.tampered', `share from ${e.from} to ${this.site} fails authentication (altered, swapped or replayed ciphertext)`);
      this.held.set(e.from, { seed: plain.subarray(0, SHARE_BYTES), key: plain.subarray(SHARE_BYTES) });
    }
    from.add(this.site);
    if (from.size < s.threshold) refuse('secagg.too-few', `only ${from.size} sites shared their keys, fewer than the threshold ${s.threshold}`);
    this.u2 = s.ordered(from);
    this.streams = [
      new PrgStream(s.selfMaskKey(this.selfSeed), 1),
      ...this.u2.filter((v) => v !== this.site).map((v) =>
        new PrgStream(s.pairSeed(this.mask.secret, Buffer.from(this.roster.get(v)!.maskKey, 'base64'), this.site, v), s.pairSign(this.site, v))),
    ];
    this.phase = 'masking';
  }

  /**
   * The masked chunk of elements [start, start + plain.length): plain + self mask + pairwise masks
   * mod 2^32, as little-endian bytes. Pure in (start, plain): a resumed upload regenerates any chunk.
   * `start` must be a multiple of 4.
   */
  maskChunk(start: number, plain: Uint32Array): Uint8Array {
    if (this.phase !== 'masking' && this.phase !== 'masked') refuse('secagg.phase', `site ${this.site} cannot mask before the shares are exchanged (phase "${this.phase}")`);
    if (start < 0 || start + plain.length > this.session.elements) refuse('secagg.chunk', `chunk [${start}, ${start + plain.length}) is outside the ${this.session.elements}-element vector`);
    const y = new Uint32Array(plain);
    if (this.zeros.length < plain.length * 4) this.zeros = Buffer.alloc(plain.length * 4);
    for (const p of this.streams) p.addInto(y, start, this.zeros);
    return new Uint8Array(y.buffer);
  }

  /**
   * Phase 3: the masked upload as a sequence of byte chunks of `session.chunkElements` elements.
   * `fill(start, out)` writes the quantised elements [start, start + out.length) into `out`
   * (see `fillFromFloats`), so neither the quantised vector nor the masks exist whole.
   */
  *maskedChunks(fill: (start: number, out: Uint32Array) => void, weight = 1): Generator<Uint8Array> {
    this.expect('masking', 'maskedChunks()');
    if (!(weight >= 0 && weight <= 1)) refuse('secagg.weight', `weight ${weight} must be in [0, 1]`);
    this.weight = weight;
    this.hash = createHash('sha256');
    this.next = 0;
    const s = this.session;
    const buf = new Uint32Array(Math.min(s.chunkElements, s.elements));
    for (let start = 0; start < s.elements; start += s.chunkElements) {
      const plain = buf.subarray(0, Math.min(s.chunkElements, s.elements - start));
      fill(start, plain);
      const bytes = this.maskChunk(start, plain);
      this.hash.update(bytes);
      this.next = start + plain.length;
      yield bytes;
    }
  }

  /** Phase 3 end: the digest the server will check the spooled upload against. */
  maskedDone(): MaskedInputDone {
    this.expect('masking', 'maskedDone()');
    if (!this.hash || this.next !== this.session.elements) refuse('secagg.phase', `site ${this.site}'s masked upload is incomplete (${this.next} of ${this.session.elements} elements)`);
    this.phase = 'masked';
    const s = this.session;
    return { type: 'secagg.masked', study: s.study, round: s.round, site: this.site, elements: s.elements, weight: this.weight, sha256: this.hash.digest('hex') };
  }

  private checkSurvivors(survivors: readonly string[], dropped: readonly string[] | null): void {
    const s = this.session;
    const sv = new Set(survivors);
    if (sv.size !== survivors.length) refuse('secagg.unmask', 'survivor list names a site twice');
    if (!sv.has(this.site)) refuse('secagg.unmask', `survivor list omits site ${this.site} itself`);
    const u2 = new Set(this.u2);
    for (const u of survivors) if (!u2.has(u)) refuse('secagg.unmask', `survivor ${u} never shared its keys with site ${this.site}`);
    if (sv.size < s.threshold) refuse('secagg.too-few', `only ${sv.size} sites survived, fewer than the threshold ${s.threshold}; nothing revealed`);
    if (dropped) {
      const dv = new Set(dropped);
      if (dv.size !== dropped.length) refuse('secagg.unmask', 'dropped list names a site twice');
      for (const d of dropped) {
        if (sv.has(d)) refuse('secagg.unmask', `site ${d} is listed both as survivor and as dropped; refusing to reveal both of its secrets`);
        if (!u2.has(d)) refuse('secagg.unmask', `dropped site ${d} never shared its keys with site ${this.site}`);
      }
      if (sv.size + dv.size !== u2.size) refuse('secagg.unmask', 'survivor and dropped lists do not cover the sites that shared keys');
    }
  }

  /** Phase 4a (signed mode): signs the survivor list. */
  receiveConsistencyRequest(raw: unknown): Consistency {
    const m = parseMessage(consistencyRequestSchema, raw, 'consistency request');
    this.expect('masked', 'a consistency request');
    this.checkHeader(m, 'consistency request');
    if (!this.identity) refuse('secagg.phase', `site ${this.site} runs without identity keys; no consistency check expected`);
    this.checkSurvivors(m.survivors, null);
    this.survivorsSigned = this.session.ordered(m.survivors);
    this.phase = 'signed';
    const signature = signBytes(this.identity.privateKey, this.session.survivorsSigned(m.survivors)).toString('base64');
    return { type: 'secagg.consistency', study: this.session.study, round: this.session.round, site: this.site, signature };
  }

  /**
   * Phase 4: for each site of U2, the share of its self seed (it survived) or of its mask key (it
   * dropped), never both; answered once. Refused when fewer than T survived, so nothing is revealed.
   */
  receiveUnmaskRequest(raw: unknown): UnmaskResponse {
    const m = parseMessage(unmaskRequestSchema, raw, 'unmask request');
    this.expect(this.identity ? 'signed' : 'masked', 'an unmask request');
    this.checkHeader(m, 'unmask request');
    const s = this.session;
    this.phase = 'failed'; // whatever happens below, this site never answers a second request
    this.checkSurvivors(m.survivors, m.dropped);
    if (this.identity) {
      const want = JSON.stringify(this.survivorsSigned);
      if (JSON.stringify(s.ordered(m.survivors)) !== want) refuse('secagg.consistency', `unmask request's survivor list differs from the one site ${this.site} signed`);
      const valid = new Set<string>();
      for (const sig of m.signatures ?? []) {
        const pub = this.identity.peers.get(sig.site);
        if (pub && m.survivors.includes(sig.site) && verifyBytes(pub, s.survivorsSigned(m.survivors), Buffer.from(sig.signature, 'base64'))) valid.add(sig.site);
      }
      if (valid.size < s.threshold) refuse('secagg.consistency', `only ${valid.size} survivors signed the survivor list, ${s.threshold} needed; nothing revealed`);
    }
    const seedShares: UnmaskResponse['seedShares'] = [];
    const keyShares: UnmaskResponse['keyShares'] = [];
    for (const u of m.survivors) seedShares.push({ of: u, share: this.held.get(u)!.seed.toString('base64') });
    for (const v of m.dropped) keyShares.push({ of: v, share: this.held.get(v)!.key.toString('base64') });
    this.phase = 'done';
    return { type: 'secagg.unmask', study: s.study, round: s.round, site: this.site, seedShares, keyShares };
  }
}

/** A `fill` for `maskedChunks` that quantises a float vector chunk by chunk. */
export function fillFromFloats(x: Float32Array | Float64Array, session: Session, weight = 1): (start: number, out: Uint32Array) => void {
  if (x.length !== session.elements) {
    throw new FlError('secagg.tensors', `update has ${x.length} elements, the round expects ${session.elements}`, { user: false });
  }
  return (start, out) => quantizeInto(out, x, start, session.quantization, weight);
}

/** A `fill` for `maskedChunks` from an already quantised ring vector. */
export function fillFromRing(ring: Uint32Array): (start: number, out: Uint32Array) => void {
  return (start, out) => out.set(ring.subarray(start, start + out.length));
}
