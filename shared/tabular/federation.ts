// The coordinator's handle on the sites: sends a request through the transport, counts round trips,
// adds up nothing itself but checks that every (non-excluded) site answered, and turns refusals into
// errors that name the site - or, on the first request of a fit and when the caller allows it,
// excludes the refusing site from the whole fit (recorded in the output).
import { FlError } from '../errors/index.js';
import type { SiteReply, SiteRequest, SiteSumsByKind, Transport } from './protocol.js';

export type OkReply<K extends SiteRequest['kind']> = { site: string; ok: true; droppedMissing: number } & SiteSumsByKind[K];

export interface RefusedSite { site: string; code: string; message: string }

export class Federation {
  roundTrips = 0;
  readonly excluded: RefusedSite[] = [];
  /** Rows dropped for a missing value, per site, as reported by the sites for the model's columns. */
  readonly droppedMissing: Record<string, number> = {};

  /** Columns every row must be complete on, for every request of this fit (set before the screening round). */
  completeOn: string[] | undefined;

  constructor(private readonly transport: Transport, readonly onRefusal: 'fail' | 'exclude' = 'fail') {}

  async ask<R extends SiteRequest>(request: R, options: { screening?: boolean } = {}): Promise<OkReply<R['kind']>[]> {
    this.roundTrips++;
    const sent = this.completeOn && !request.completeOn ? { ...request, completeOn: this.completeOn } : request;
    const replies: SiteReply[] = await this.transport(sent);
    const out: OkReply<R['kind']>[] = [];
    const refused: RefusedSite[] = [];
    for (const r of replies) {
      if (this.excluded.some((e) => e.site === r.site)) continue;
      if (!r.ok) { refused.push({ site: r.site, code: r.code, message: r.message }); continue; }
      out.push(r as unknown as OkReply<R["kind"]>);
    }
    if (refused.length > 0) {
      if (options.screening && this.onRefusal === 'exclude' && out.length > 0) {
        this.excluded.push(...refused);
      } else {
        const hint = options.screening ? ' (fl fit --exclude-refusing drops such a site from the fit)' : '';
        throw new FlError(`tabular.${refused[0]!.code}`, refused.map((r) => r.message).join('; ') + hint);
      }
    }
    if (out.length === 0) throw new FlError('tabular.no_sites', 'no site answered the request');
    if (options.screening) for (const r of out) this.droppedMissing[r.site] = r.droppedMissing;
    return out;
  }
}
