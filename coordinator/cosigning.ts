// End-of-round co-signing of the study log by the sites (the coordinator side). Each participant
// gets the latest signed tree head and a consistency proof from the last head it co-signed; its
// co-signature is checked and stored in the log's heads file. A site that has co-signed before
// but is unknown to this coordinator process (after a restart) answers with its last size, and
// gets the right proof on the retry.
import type { Logger } from 'pino';
import type { StudyLog } from '../shared/audit/study-log.js';
import { publicKeyPem } from '../shared/audit/keys.js';
import type { SignedTreeHead } from '../shared/audit/tree-head.js';
import type { KeyObject } from 'node:crypto';
import type { CosignResponse } from '../shared/protocol/index.js';
import type { SiteRegistry } from './site-registry.js';
import type { EventBus } from '../shared/events/events.js';
import { RefusalLog } from './stream-guard.js';

export class Cosigning {
  private readonly lastSize = new Map<string, number>();
  /** Sites whose latest answer was a refusal to co-sign, with their reason. */
  readonly refused = new Map<string, string>();
  private readonly pem: string;
  /** One line (and event) per site and kind within 10 s: a site sending thousands of answers does not flood the log. */
  private readonly lines: RefusalLog;

  constructor(private readonly studyLog: StudyLog, signingKey: KeyObject, private readonly sites: SiteRegistry, private readonly log: Logger, private readonly events?: EventBus) {
    this.pem = publicKeyPem(signingKey);
    this.lines = new RefusalLog(log);
  }

  /** Sends the current head to these sites. */
  request(siteNames: readonly string[]): void {
    const head = this.studyLog.treeHead();
    if (!head) return;
    for (const site of siteNames) this.send(site, head, this.lastSize.get(site));
  }

  private send(site: string, head: SignedTreeHead, from: number | undefined): void {
    const proof = from !== undefined && from > 0 && from < head.tree_size ? this.studyLog.consistencyProof(from, head.tree_size) : null;
    this.sites.send(site, { type: 'cosign', head, proof, coordinatorPublicKey: this.pem });
  }

  /** A site's answer on its session stream. */
  async receive(site: string, r: CosignResponse): Promise<void> {
    if (r.error) {
      const head = this.studyLog.treeHead();
      if (r.lastSize > 0 && head && !this.lastSize.has(site) && r.lastSize <= head.tree_size) {
        this.lastSize.set(site, r.lastSize); // retry once with the proof from the size the site holds
        this.send(site, head, r.lastSize);
        return;
      }
      // Loud: a site refusing to co-sign says this coordinator showed it a history it cannot accept.
      // `fl status` shows the latest reason and exits non-zero until the site co-signs again; the
      // error line and event are written once per site and reason, at most one per 10 s (a site
      // repeating refusals, solicited or not, does not flood the log).
      const repeated = this.refused.get(site) === r.error;
      this.refused.set(site, r.error);
      if (repeated) return;
      if (this.lines.error(`cosign-refused/${site}`, { site, reason: r.error, advice: 'compare the heads sites recorded with `fl audit verify DIR --ca study-ca.pem --strict --cosign-state SITE_WORK_DIR...`' }, 'site REFUSED to co-sign the study log')) {
        this.events?.publish({ type: 'cosignature', site, ok: false, reason: r.error });
      }
      return;
    }
    try {
      const head = r.head;
      if (!head) throw new Error('co-signature without a tree head');
      await this.studyLog.addCosignature(site, head, r.signature);
      this.lastSize.set(site, head.tree_size);
      this.refused.delete(site);
      this.log.info({ site, treeSize: head.tree_size }, 'study log co-signed');
      this.events?.publish({ type: 'cosignature', site, ok: true, treeSize: head.tree_size });
    } catch (err) {
      if (this.lines.warn(`cosign-invalid/${site}`, { site, err: (err as Error).message }, 'co-signature not accepted')) {
        this.events?.publish({ type: 'cosignature', site, ok: false, reason: `co-signature not accepted: ${(err as Error).message}` });
      }
    }
  }
}
