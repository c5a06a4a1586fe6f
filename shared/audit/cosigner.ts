// The site side of co-signing: a site signs a coordinator tree head only after checking it is
// signed by the coordinator and is an append-only extension (RFC 6962 consistency proof) of the
// last head this site signed. The last signed head is kept durably in a small state file, so a
// coordinator cannot show one history to this site and another to the auditor or other sites.
//
//   const c = await SiteCosigner.open(statePath, { site, study, siteKey, coordinatorKey })
//   const proof = c.lastSigned() ? log.consistencyProof(c.lastSigned()!.tree_size, head.tree_size) : null
//   const { signature } = await c.cosign(head, proof)   // throws CosignRefused on any mismatch
//   await log.addCosignature(site, head, signature)     // coordinator side
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { atomicWriteFile } from '../util/atomic-write.js';
import { checkConsistencyProof, type ConsistencyProof } from './proofs.js';
import { TreeHeadSchema, checkTreeHeadSignature, cosignTreeHead, headOf, type Cosignature, type SignedTreeHead, type TreeHead } from './tree-head.js';

export class CosignRefused extends Error {
  override name = 'CosignRefused';
}

const StateSchema = z.object({ study: z.string(), site: z.string(), last: TreeHeadSchema.nullable() });

export interface SiteCosignerOptions {
  readonly site: string;
  readonly study: string;
  /** The site's private key (Ed25519 or the ECDSA key of its certificate). */
  readonly siteKey: KeyObject;
  /** The coordinator's log public key (from the study kit / coordinator.pub). */
  readonly coordinatorKey: KeyObject;
}

export class SiteCosigner {
  private constructor(private readonly path: string, private readonly opts: SiteCosignerOptions, private last: TreeHead | null) {}

  static async open(statePath: string, opts: SiteCosignerOptions): Promise<SiteCosigner> {
    let last: TreeHead | null = null;
    try {
      const text = await readFile(statePath, 'utf8');
      const parsed = StateSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new CosignRefused(`${statePath}: invalid co-signing state: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
      if (parsed.data.study !== opts.study || parsed.data.site !== opts.site) {
        throw new CosignRefused(`${statePath}: state belongs to site "${parsed.data.site}" of study "${parsed.data.study}"`);
      }
      last = parsed.data.last;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return new SiteCosigner(statePath, opts, last);
  }

  /** The last head this site co-signed (the size the next consistency proof must start from). */
  lastSigned(): TreeHead | null {
    return this.last;
  }

  /** Checks the head and its consistency with the last signed head, persists it, and co-signs it. */
  async cosign(head: SignedTreeHead, proof: ConsistencyProof | null): Promise<{ signature: string; cosignature: Cosignature }> {
    const { study, site } = this.opts;
    if (head.study !== study) throw new CosignRefused(`tree head is for study "${head.study}", this site is in "${study}"`);
    const bad = checkTreeHeadSignature(this.opts.coordinatorKey, head);
    if (bad) throw new CosignRefused(`tree head (tree_size ${head.tree_size}) ${bad}`);
    const last = this.last;
    if (last) {
      if (head.tree_size < last.tree_size) throw new CosignRefused(`tree head has ${head.tree_size} records, fewer than the ${last.tree_size} this site already co-signed`);
      if (head.tree_size === last.tree_size) {
        if (head.root_hash !== last.root_hash) throw new CosignRefused(`tree head of size ${head.tree_size} has a different root than the one this site co-signed: the log was rewritten`);
      } else {
        if (!proof) throw new CosignRefused(`a consistency proof from size ${last.tree_size} to ${head.tree_size} is required`);
        if (proof.first_size !== last.tree_size || proof.first_root !== last.root_hash || proof.second_size !== head.tree_size || proof.second_root !== head.root_hash) {
          throw new CosignRefused(`the consistency proof is not from the last co-signed head (size ${last.tree_size}) to this head (size ${head.tree_size})`);
        }
        if (!checkConsistencyProof(proof)) throw new CosignRefused(`the log of size ${head.tree_size} is not an extension of the one this site co-signed at size ${last.tree_size}: the log was rewritten`);
      }
    }
    const next = headOf(head);
    await this.persist(next);
    this.last = next;
    const cosignature = cosignTreeHead(this.opts.siteKey, site, next);
    return { signature: cosignature.signature, cosignature };
  }

  private async persist(last: TreeHead): Promise<void> {
    await atomicWriteFile(this.path, JSON.stringify({ study: this.opts.study, site: this.opts.site, last }) + '\n', { mode: 0o600 });
  }
}
