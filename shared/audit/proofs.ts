// Inclusion and consistency proofs in a self-describing JSON form (hex hashes), and their checks.
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';

export interface InclusionProof {
  readonly leaf_index: number;
  readonly tree_size: number;
  readonly leaf_hash: string;
  readonly root_hash: string;
  readonly audit_path: string[];
}

export interface ConsistencyProof {
  readonly first_size: number;
  readonly second_size: number;
  readonly first_root: string;
  readonly second_root: string;
  readonly path: string[];
}

const hex = (s: string) => Buffer.from(s, 'hex');

/** Checks the proof, and when `recordLine` is given that it is the leaf the proof is about. */
export function checkInclusionProof(p: InclusionProof, recordLine?: string): boolean {
  if (recordLine !== undefined && leafHash(recordLine).toString('hex') !== p.leaf_hash) return false;
  return verifyInclusion(p.leaf_index, p.tree_size, hex(p.leaf_hash), p.audit_path.map(hex), hex(p.root_hash));
}

export function checkConsistencyProof(p: ConsistencyProof): boolean {
  return verifyConsistency(p.first_size, p.second_size, hex(p.first_root), hex(p.second_root), p.path.map(hex));
}
