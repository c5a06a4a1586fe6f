// A site's signature over an update it sends: over `updateSignatureStatement` (study, round,
// model, site, update id, example count, tensor-set digest), with the site's own key (Ed25519
// or the ECDSA P-256 key of its certificate). The coordinator logs it in update_accepted
// (`signature`); the auditor checks it with the key the site announced in site_joined.
import type { KeyObject } from 'node:crypto';
import { signBytes, verifyBytes } from './keys.js';
import { joinStatement, updateSignatureStatement } from './records.js';

export interface SignedUpdateFields {
  readonly study: string;
  readonly round: number;
  readonly model: string;
  readonly site: string;
  readonly update_id: string;
  readonly num_examples: number;
  readonly digest: string;
}

/** Base64 signature (DER for ECDSA) to put in the update header. */
export function signUpdate(siteKey: KeyObject, u: SignedUpdateFields): string {
  return signBytes(siteKey, updateSignatureStatement(u));
}

export function verifyUpdateSignature(sitePublicKey: KeyObject, u: SignedUpdateFields, signatureB64: string): boolean {
  return verifyBytes(sitePublicKey, updateSignatureStatement(u), signatureB64);
}

/** The site's signature over its join declaration (study, site, train-cohort size). */
export function signJoin(siteKey: KeyObject, j: { study: string; site: string; train_cases: number }): string {
  return signBytes(siteKey, joinStatement(j));
}

export function verifyJoinSignature(sitePublicKey: KeyObject, j: { study: string; site: string; train_cases: number }, signatureB64: string): boolean {
  return verifyBytes(sitePublicKey, joinStatement(j), signatureB64);
}
