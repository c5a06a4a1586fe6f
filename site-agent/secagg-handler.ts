// The site's side of secure aggregation (issue 17): answers the coordinator's "secagg.*" phase
// requests with the protocol's client state machine (shared/secagg/client.ts) and masks the
// site's update before the agent uploads it. What leaves the site: two public keys per round, the
// example count (public in every upload header anyway), Shamir shares encrypted to each peer, the
// masked ring vector, and at unmasking one share per peer (never both secrets of one peer).
import { FlError } from '../shared/errors/index.js';
import {
  PHASE, SecAggClient, Session, advertiseRequestSchema, decodePhase, encodePhase, fillFromFloats, relayRequestSchema, shareRequestSchema,
  unmaskRequestEnvelope,
} from '../shared/secagg/index.js';
import type { PhaseRequest } from '../shared/protocol/index.js';

export interface SiteSecAggOptions {
  readonly studyId: string;
  readonly siteId: string;
  /** Training examples this site will report (its train cohort size): public, as in an upload header. */
  readonly examples: () => number;
}

interface ClientRound {
  readonly client: SecAggClient;
  weightTotal: number;
}

function refuse(code: string, message: string): never {
  throw new FlError(code, `secure aggregation: ${message}`);
}

export class SiteSecAgg {
  private readonly rounds = new Map<string, ClientRound>();

  constructor(private readonly opts: SiteSecAggOptions) {}

  /** The agent's `phaseHandlers.secagg`. */
  readonly handler = async (req: PhaseRequest): Promise<Uint8Array> => {
    if (req.studyId !== this.opts.studyId) refuse('secagg.replay', `request for study ${req.studyId}, this site is in ${this.opts.studyId}`);
    const k = `${req.model}/${req.round}`;
    switch (req.phase) {
      case PHASE.advertise: {
        const { session } = decodePhase(advertiseRequestSchema, req.payload, PHASE.advertise);
        if (session.study !== this.opts.studyId || session.round !== req.round) refuse('secagg.replay', `session for study ${session.study} round ${session.round} refused (request is for round ${req.round})`);
        // A fresh client (fresh keys and seed) per model and round; older rounds' secrets are dropped.
        for (const key of this.rounds.keys()) if (key.startsWith(`${req.model}/`)) this.rounds.delete(key);
        const client = new SecAggClient(new Session(session), this.opts.siteId);
        this.rounds.set(k, { client, weightTotal: 0 });
        return encodePhase({ advertise: client.advertise(), examples: this.opts.examples() });
      }
      case PHASE.share: {
        const r = this.get(k);
        const m = decodePhase(shareRequestSchema, req.payload, PHASE.share);
        const shares = r.client.receiveRoster(m.roster);
        r.weightTotal = m.weightTotal;
        return encodePhase(shares);
      }
      case PHASE.relay: {
        const r = this.get(k);
        r.client.receiveRelay(decodePhase(relayRequestSchema, req.payload, PHASE.relay));
        return encodePhase({ ok: true });
      }
      case PHASE.unmask: {
        const r = this.get(k);
        const m = decodePhase(unmaskRequestEnvelope, req.payload, PHASE.unmask);
        const reply = r.client.receiveUnmaskRequest(m);
        this.rounds.delete(k);
        return encodePhase(reply);
      }
      default:
        return refuse('secagg.phase', `unknown phase "${req.phase}"`);
    }
  };

  private get(k: string): ClientRound {
    const r = this.rounds.get(k);
    if (!r) refuse('secagg.phase', `no secure-aggregation session for model/round ${k} at this site (keys were not advertised)`);
    return r;
  }

  /**
   * Masks this site's update for the round: (optional) site-side L2 clipping to `clipNorm`, then
   * elementwise clip, weight numExamples / W, quantise, and add the masks. Returns the ring vector as
   * little-endian bytes, to be uploaded in place of the plain update. Throws (nothing is uploaded)
   * when the keys of this round were not exchanged.
   */
  maskUpdate(model: string, round: number, delta: Float32Array, numExamples: number, clipNorm?: number): Uint8Array {
    const r = this.rounds.get(`${model}/${round}`);
    if (!r || r.client.state !== 'masking') {
      refuse('secagg.phase', `site ${this.opts.siteId} has no completed key exchange for model "${model}" round ${round}; refusing to upload (a plain update would reveal it)`);
    }
    const weight = numExamples / r.weightTotal;
    if (!(weight > 0 && weight <= 1)) refuse('secagg.weight', `${numExamples} training examples exceed the round's declared total ${r.weightTotal}`);
    let x = delta;
    if (clipNorm !== undefined) {
      let s = 0;
      for (let i = 0; i < delta.length; i++) s += delta[i]! * delta[i]!;
      const norm = Math.sqrt(s);
      if (norm > clipNorm) {
        x = new Float32Array(delta.length);
        const f = clipNorm / norm;
        for (let i = 0; i < delta.length; i++) x[i] = delta[i]! * f;
      }
    }
    const session = r.client.session;
    const out = new Uint8Array(session.elements * 4);
    let off = 0;
    for (const chunk of r.client.maskedChunks(fillFromFloats(x, session, weight), weight)) {
      out.set(chunk, off);
      off += chunk.length;
    }
    r.client.maskedDone();
    return out;
  }
}
