// Secure aggregation as a strategy wrapper (Bonawitz et al. 2017; protocol in shared/secagg/): the
// coordinator learns only the sum of the sites' updates. The wrapper adds two round phases:
//
//   before_fit "secagg.setup":  advertise keys -> roster + weight total -> encrypted shares -> relay
//   after_fit  "secagg.unmask": masked-upload digests from the spool -> unmask request -> sum
//
// Sites upload their masked updates through the ordinary chunked upload (ring bytes in Z_2^32, so
// the receiver skips its finiteness check: `maskedUpdates`). aggregateFit hands the inner strategy
// (FedAvg, FedProx, FedAdam, FedYogi) one update: the dequantised example-weighted mean delta, so
// server-side optimisers work unchanged on the sum. Rules that must see individual updates are
// refused at start; norm bounding becomes site-side clipping (the training task carries the bound).
// A round with fewer than T sites at any step fails with the reason and nothing revealed.
import { createHash } from 'node:crypto';
import { memoryUpdateReader, type UpdateReader } from '../aggregate/reader.js';
import { ConfigError } from '../config/load.js';
import { FlError } from '../errors/index.js';
import {
  PHASE, SecAggServer, Session, advertiseReplySchema, decodePhase, dequantize, encodePhase, quantizationErrorBound, relayReplySchema,
  shareReplySchema, unmaskReplySchema, type QuantizationConfig, type SecAggResult,
} from '../secagg/index.js';
import type { AggregateResult, Failure, FitInstructions, PhaseTransport, RoundInfo, RoundPhase, Strategy, StrategyState } from './types.js';
import { QuorumError } from './wrappers.js';

export interface SecureAggregationSettings {
  readonly study: string;
  readonly threshold: number;
  readonly quantization: QuantizationConfig;
  /** How long each phase exchange waits for the sites' answers. */
  readonly phaseDeadlineMs: number;
  /** Norm bounding turned into site-side clipping: sites clip their delta to this L2 norm. */
  readonly siteClipNorm?: number;
  /** Elements per masked chunk (default: the protocol's 65 536). */
  readonly chunkElements?: number;
}

/** What the study log records of a secure-aggregation round (and all `fl audit replay` needs). */
export interface SecureAggregationRecord {
  readonly session: { study: string; sites: string[]; threshold: number; quantization: QuantizationConfig; elements: number; chunkElements: number };
  readonly advertised: string[];
  readonly shared: string[];
  readonly survivors: string[];
  readonly dropped: string[];
  readonly weight_total: number;
  readonly weights: Record<string, number>;
  readonly weight_sum: number;
  readonly upload_digests: Record<string, string>;
  readonly aggregate_sha256: string;
  readonly revealed: SecAggResult['revealed'];
  readonly mask_keys: Record<string, string>;
  readonly update_ids: Record<string, string>;
  readonly failures: Failure[];
}

interface RoundRun {
  readonly session: Session;
  readonly server: SecAggServer;
  readonly weightTotal: number;
  readonly advertised: string[];
  readonly shared: string[];
  readonly failures: Failure[];
  result?: { res: SecAggResult; weights: Record<string, number>; updateIds: Record<string, string> };
}

function tooFew(err: unknown, round: RoundInfo): never {
  if (err instanceof FlError && (err.code === 'secagg.too-few' || err.code === 'config.invalid' || err.code === 'secagg.share-mismatch' || err.code === 'secagg.upload')) {
    throw new QuorumError(`model "${round.model}": ${err.message}`);
  }
  throw err;
}

/** Streams a reader's raw bytes (the masked ring vector) through SHA-256. */
async function readerSha256(u: UpdateReader, chunk: number): Promise<string> {
  const h = createHash('sha256');
  const buf = new Float32Array(Math.min(chunk, u.length));
  for (let start = 0; start < u.length; start += chunk) {
    const part = buf.subarray(0, Math.min(chunk, u.length - start));
    await u.read(start, part);
    h.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  }
  return h.digest('hex');
}

export function withSecureAggregation(inner: Strategy, settings: SecureAggregationSettings): Strategy {
  if (inner.needsIndividualUpdates) {
    throw new ConfigError(
      `secure_aggregation cannot be combined with strategy "${inner.name}" or the norm-outlier filter: they must see each site's update, ` +
        'and with secure aggregation the coordinator sees only the sum (use fedavg, fedprox, fedadam, fedyogi or norm_bounding, and set outlier_norm_factor: 0)',
      ['secure_aggregation: strategy needs individual updates'],
    );
  }
  const runs = new Map<string, RoundRun>();
  const key = (r: RoundInfo) => `${r.model}/${r.round}`;

  const setup: RoundPhase = {
    name: 'secagg.setup',
    when: 'before_fit',
    async run(round: RoundInfo, transport: PhaseTransport, state: StrategyState): Promise<StrategyState> {
      for (const k of runs.keys()) if (k.startsWith(`${round.model}/`)) runs.delete(k); // earlier rounds' secrets go
      if (round.modelLength === undefined) throw new Error('secure aggregation: the round engine did not give the model length');
      let session: Session;
      try {
        session = new Session({
          study: settings.study, round: round.round, sites: [...transport.sites].sort(), threshold: settings.threshold,
          quantization: settings.quantization, elements: round.modelLength, ...(settings.chunkElements ? { chunkElements: settings.chunkElements } : {}),
        });
      } catch (err) {
        throw new QuorumError(`model "${round.model}": secure aggregation cannot run round ${round.round} with ${transport.sites.length} connected site(s) (${transport.sites.join(', ')}): ${(err as Error).message}`);
      }
      const server = new SecAggServer(session);
      const failures: Failure[] = [];
      const sessionInput = { study: session.study, round: session.round, sites: [...session.sites], threshold: session.threshold, quantization: session.quantization, elements: session.elements, chunkElements: session.chunkElements };
      try {
        // 1. Advertise keys.
        const adv = await transport.exchange(PHASE.advertise, new Map(session.sites.map((s) => [s, encodePhase({ session: sessionInput })])), settings.phaseDeadlineMs);
        failures.push(...adv.failures);
        let weightTotal = 0;
        for (const [site, bytes] of adv.answers) {
          try {
            const r = decodePhase(advertiseReplySchema, bytes, `${PHASE.advertise} answer of site ${site}`);
            if (r.advertise.site !== site) throw new FlError('secagg.site', `site ${site} advertised keys as ${r.advertise.site}`);
            server.receiveAdvertise(r.advertise);
            weightTotal += r.examples;
          } catch (err) {
            failures.push({ site, reason: `${PHASE.advertise}: ${(err as Error).message}` });
          }
        }
        const roster = server.closeAdvertise();
        weightTotal = Math.max(1, weightTotal);
        const advertised = roster.keys.map((k) => k.site);
        // 2. Shamir shares of each site's secrets, encrypted to each peer.
        const sh = await transport.exchange(PHASE.share, new Map(advertised.map((s) => [s, encodePhase({ roster, weightTotal })])), settings.phaseDeadlineMs);
        failures.push(...sh.failures);
        for (const [site, bytes] of sh.answers) {
          try {
            const m = decodePhase(shareReplySchema, bytes, `${PHASE.share} answer of site ${site}`);
            if (m.site !== site) throw new FlError('secagg.site', `site ${site} sent shares as ${m.site}`);
            server.receiveShares(m);
          } catch (err) {
            failures.push({ site, reason: `${PHASE.share}: ${(err as Error).message}` });
          }
        }
        const relays = server.closeShares();
        const shared = relays.map((r) => r.to);
        // 3. Relay the ciphertexts; a site that does not take them cannot mask and counts as dropped.
        const rl = await transport.exchange(PHASE.relay, new Map(relays.map((r) => [r.to, encodePhase(r)])), settings.phaseDeadlineMs);
        failures.push(...rl.failures);
        for (const [site, bytes] of rl.answers) {
          try {
            decodePhase(relayReplySchema, bytes, `${PHASE.relay} answer of site ${site}`);
          } catch (err) {
            failures.push({ site, reason: `${PHASE.relay}: ${(err as Error).message}` });
          }
        }
        runs.set(key(round), { session, server, weightTotal, advertised, shared, failures });
      } catch (err) {
        tooFew(err, round);
      }
      return state;
    },
  };

  const unmask: RoundPhase = {
    name: 'secagg.unmask',
    when: 'after_fit',
    async run(round: RoundInfo, transport: PhaseTransport, state: StrategyState): Promise<StrategyState> {
      const run = runs.get(key(round));
      if (!run) throw new QuorumError(`model "${round.model}": secure aggregation was not set up for round ${round.round}`);
      const { server, session } = run;
      const shared = new Set(run.shared);
      const readers = new Map<string, UpdateReader>();
      const weights: Record<string, number> = {};
      const updateIds: Record<string, string> = {};
      try {
        // The spooled masked uploads: their digests and the public weights (examples / W).
        for (const u of [...(round.updates ?? [])].sort((a, b) => session.point(a.site) - session.point(b.site))) {
          if (!shared.has(u.site)) {
            run.failures.push({ site: u.site, reason: 'uploaded without having shared its keys this round; left out of the sum' });
            continue;
          }
          const weight = u.numExamples / run.weightTotal;
          try {
            server.receiveMaskedDone({
              type: 'secagg.masked', study: session.study, round: session.round, site: u.site, elements: u.length,
              weight, sha256: await readerSha256(u, session.chunkElements),
            });
          } catch (err) {
            run.failures.push({ site: u.site, reason: `masked upload refused: ${(err as Error).message}` });
            continue;
          }
          readers.set(u.site, u);
          weights[u.site] = weight;
          updateIds[u.site] = u.id;
        }
        const req = server.closeMasked();
        if (req.type !== 'secagg.unmask-request') throw new Error('secure aggregation: signed mode is not wired into rounds');
        const connected = new Set(transport.sites);
        const ask = req.survivors.filter((s) => connected.has(s));
        const um = await transport.exchange(PHASE.unmask, new Map(ask.map((s) => [s, encodePhase(req)])), settings.phaseDeadlineMs);
        run.failures.push(...um.failures);
        for (const s of req.survivors) if (!connected.has(s)) run.failures.push({ site: s, reason: `${PHASE.unmask}: not connected (its masked upload stays in the sum)` });
        for (const [site, bytes] of um.answers) {
          try {
            const m = decodePhase(unmaskReplySchema, bytes, `${PHASE.unmask} answer of site ${site}`);
            if (m.site !== site) throw new FlError('secagg.site', `site ${site} answered as ${m.site}`);
            server.receiveUnmask(m);
          } catch (err) {
            run.failures.push({ site, reason: `${PHASE.unmask}: ${(err as Error).message}` });
          }
        }
        const res = await server.unmask(async (site, start, count) => {
          const out = new Float32Array(count);
          await readers.get(site)!.read(start, out);
          return new Uint8Array(out.buffer);
        });
        run.result = { res, weights, updateIds };
      } catch (err) {
        runs.delete(key(round));
        tooFew(err, round);
      }
      return state;
    },
  };

  return {
    ...inner,
    name: inner.name,
    maskedUpdates: true,
    phases: [...(inner.phases ?? []), setup, unmask],
    configureFit(round): FitInstructions {
      const params: Record<string, number> = { ...inner.configureFit(round).params, secagg: 1 };
      if (settings.siteClipNorm !== undefined) params.secagg_clip_norm = settings.siteClipNorm;
      return { params };
    },
    async aggregateFit(global, results, state, round?: RoundInfo): Promise<AggregateResult> {
      if (!round) throw new Error('secure aggregation: aggregateFit needs the round');
      const run = runs.get(key(round));
      runs.delete(key(round));
      if (!run?.result) throw new QuorumError(`model "${round.model}": round ${round.round} has no unmasked aggregate`);
      const { res, weights, updateIds } = run.result;
      const q = settings.quantization;
      // sum_k w_k clip(x_k), then the example-weighted mean: divide by sum_k w_k.
      const deq = dequantize(res.sum, res.survivors.length, q);
      const mean = new Float32Array(deq.length);
      for (let i = 0; i < deq.length; i++) mean[i] = deq[i]! / res.weightSum;
      const survivors = new Set(res.survivors);
      const examples = results.filter((u) => survivors.has(u.site)).reduce((a, u) => a + u.numExamples, 0);
      const sum = memoryUpdateReader(mean, { id: `secagg-${round.model}-r${round.round}`, site: 'secure-aggregate', numExamples: Math.max(1, examples) });
      const out = await inner.aggregateFit(global, [sum], state, round);
      const excluded = results.filter((u) => !survivors.has(u.site)).map((u) => ({ id: u.id, site: u.site, reason: 'not in the secure-aggregation sum (its keys were not shared or its upload was refused this round)' }));
      const record: SecureAggregationRecord = {
        session: { study: run.session.study, sites: [...run.session.sites], threshold: run.session.threshold, quantization: q, elements: run.session.elements, chunkElements: run.session.chunkElements },
        advertised: run.advertised, shared: run.shared, survivors: [...res.survivors], dropped: [...res.dropped],
        weight_total: run.weightTotal, weights, weight_sum: res.weightSum,
        upload_digests: { ...res.uploadDigests }, aggregate_sha256: res.aggregateSha256,
        revealed: res.revealed, mask_keys: { ...res.maskKeys }, update_ids: updateIds, failures: run.failures,
      };
      return {
        ...out,
        metrics: {
          ...out.metrics,
          secagg_survivors: res.survivors.length,
          secagg_dropped: res.dropped.length,
          secagg_quantization_error_bound: quantizationErrorBound(res.survivors.length, q) / res.weightSum,
        },
        excluded: [...(out.excluded ?? []), ...excluded],
        audit: { secure_aggregation: record },
      };
    },
  };
}
