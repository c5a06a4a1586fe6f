// Signed tree heads (the coordinator's commitment to the first tree_size records) and site
// co-signatures over them. Both sign the canonical JSON of a small statement that names its
// purpose, so a co-signature can never be replayed as a tree head or the other way round.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../util/canonical-json.js';
import { keyId, signBytes, verifyBytes } from './keys.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');

export const TreeHeadSchema = z.object({
  study: z.string().min(1),
  tree_size: z.number().int().nonnegative(),
  root_hash: hex64,
  /** Unix milliseconds when the head was signed. */
  timestamp: z.number().int().nonnegative(),
});
export type TreeHead = z.infer<typeof TreeHeadSchema>;

export const SignedTreeHeadSchema = TreeHeadSchema.extend({
  kind: z.literal('sth'),
  key_id: hex64,
  signature: base64,
});
export type SignedTreeHead = z.infer<typeof SignedTreeHeadSchema>;

export const CosignatureSchema = TreeHeadSchema.extend({
  kind: z.literal('cosignature'),
  site: z.string().min(1),
  key_id: hex64,
  signature: base64,
});
export type Cosignature = z.infer<typeof CosignatureSchema>;

/** One line of heads.jsonl. */
export const HeadLineSchema = z.discriminatedUnion('kind', [SignedTreeHeadSchema, CosignatureSchema]);
export type HeadLine = z.infer<typeof HeadLineSchema>;

export const TREE_HEAD_CONTEXT = 'fl-audit/tree-head/v1';
export const COSIGNATURE_CONTEXT = 'fl-audit/cosignature/v1';

function statement(context: string, head: TreeHead, site?: string): string {
  return canonicalJson({
    context, study: head.study, tree_size: head.tree_size, root_hash: head.root_hash, timestamp: head.timestamp,
    ...(site !== undefined ? { site } : {}),
  });
}

export function treeHeadStatement(head: TreeHead): string {
  return statement(TREE_HEAD_CONTEXT, head);
}

export function cosignatureStatement(site: string, head: TreeHead): string {
  return statement(COSIGNATURE_CONTEXT, head, site);
}

export function headOf(h: TreeHead): TreeHead {
  return { study: h.study, tree_size: h.tree_size, root_hash: h.root_hash, timestamp: h.timestamp };
}

export function signTreeHead(key: KeyObject, head: TreeHead): SignedTreeHead {
  return { kind: 'sth', ...headOf(head), key_id: keyId(key), signature: signBytes(key, treeHeadStatement(head)) };
}

/** Null when valid, else why not. */
export function checkTreeHeadSignature(publicKey: KeyObject, sth: SignedTreeHead): string | null {
  const expectedId = keyId(publicKey);
  if (sth.key_id !== expectedId) return `signed by key ${sth.key_id.slice(0, 16)}…, not the coordinator key ${expectedId.slice(0, 16)}…`;
  if (!verifyBytes(publicKey, treeHeadStatement(sth), sth.signature)) return 'signature does not verify';
  return null;
}

export function cosignTreeHead(siteKey: KeyObject, site: string, head: TreeHead): Cosignature {
  return { kind: 'cosignature', ...headOf(head), site, key_id: keyId(siteKey), signature: signBytes(siteKey, cosignatureStatement(site, head)) };
}

export function checkCosignature(sitePublicKey: KeyObject, c: Cosignature): string | null {
  const expectedId = keyId(sitePublicKey);
  if (c.key_id !== expectedId) return `co-signed by key ${c.key_id.slice(0, 16)}…, not site "${c.site}"'s key ${expectedId.slice(0, 16)}…`;
  if (!verifyBytes(sitePublicKey, cosignatureStatement(c.site, c), c.signature)) return `co-signature of site "${c.site}" does not verify`;
  return null;
}
