// The coordinator's side of phase exchanges: sends a PhaseRequest to each site on its session and
// collects the PhaseReply, a refusal, a disconnect or the deadline as that site's failure. It is
// the transport behind strategy phases (PhaseTransport: secure aggregation) and behind model
// families that fit from sums (tabular models): both speak request → answers/failures, never
// exceptions for a site's absence.
import { randomUUID } from 'node:crypto';
import type { PhaseReply } from '../shared/protocol/index.js';
import type { Failure, PhaseTransport } from '../shared/strategies/types.js';
import type { SiteRegistry } from './site-registry.js';

interface Pending {
  readonly site: string;
  resolve(r: { ok: true; payload: Uint8Array } | { ok: false; reason: string }): void;
}

export class PhaseExchange {
  private readonly pending = new Map<string, Pending>();
  private readonly stopListening: () => void;

  constructor(private readonly studyId: string, private readonly sites: SiteRegistry) {
    this.stopListening = sites.onChange((site, connected, reason) => {
      if (connected) return;
      for (const [id, p] of this.pending) {
        if (p.site !== site) continue;
        this.pending.delete(id);
        p.resolve({ ok: false, reason: `disconnected (${reason})` });
      }
    });
  }

  /** Called by the server for every PhaseReply a site sends. Unknown or foreign ids are ignored. */
  receive(site: string, reply: PhaseReply): void {
    const p = this.pending.get(reply.exchangeId);
    if (!p || p.site !== site) return;
    this.pending.delete(reply.exchangeId);
    p.resolve(reply.error ? { ok: false, reason: `refused: ${reply.error}` } : { ok: true, payload: reply.payload });
  }

  /** A transport for one round of one model, over the given sites. */
  transport(round: number, model: string, sites: readonly string[]): PhaseTransport {
    return {
      sites,
      exchange: (phase, requests, deadlineMs) => this.exchange(round, model, phase, requests, deadlineMs),
    };
  }

  async exchange(round: number, model: string, phase: string, requests: ReadonlyMap<string, Uint8Array>, deadlineMs: number): Promise<{ answers: Map<string, Uint8Array>; failures: Failure[] }> {
    const deadline = Date.now() + deadlineMs;
    const answers = new Map<string, Uint8Array>();
    const failures: Failure[] = [];
    const waits = [...requests].map(([site, payload]) => new Promise<void>((done) => {
      const exchangeId = `${phase}-${round}-${randomUUID()}`;
      let timer: NodeJS.Timeout | undefined;
      const finish = (r: { ok: true; payload: Uint8Array } | { ok: false; reason: string }) => {
        if (timer) clearTimeout(timer);
        if (r.ok) answers.set(site, r.payload);
        else failures.push({ site, reason: `${phase}: ${r.reason}` });
        done();
      };
      this.pending.set(exchangeId, { site, resolve: finish });
      const sent = this.sites.send(site, { type: 'phase', exchangeId, studyId: this.studyId, round, model, phase, payload, deadlineUnixMs: deadline });
      if (!sent) {
        this.pending.delete(exchangeId);
        finish({ ok: false, reason: 'not connected' });
        return;
      }
      timer = setTimeout(() => {
        if (!this.pending.delete(exchangeId)) return;
        finish({ ok: false, reason: `no answer within ${Math.round(deadlineMs / 1000)} s` });
      }, Math.max(0, deadline - Date.now()));
    }));
    await Promise.all(waits);
    failures.sort((a, b) => a.site.localeCompare(b.site));
    return { answers, failures };
  }

  close(): void {
    this.stopListening();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve({ ok: false, reason: 'the coordinator is shutting down' });
    }
  }
}
