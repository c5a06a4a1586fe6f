// Merkle tree hashing, inclusion and consistency proofs as in RFC 6962 / RFC 9162 (section 2.1).
//
// Leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right); the tree over
// n leaves splits at the largest power of two k < n. The verifiers follow RFC 9162 2.1.3.2 and
// 2.1.4.2 literally, so proofs interoperate with any CT-style implementation.
import { createHash } from 'node:crypto';

export type Hash = Buffer;

export function leafHash(entry: Uint8Array | string): Hash {
  return createHash('sha256').update(Buffer.from([0])).update(entry).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  return createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
}

/** SHA-256 of the empty string: the root of the empty tree. */
export const EMPTY_ROOT: Hash = createHash('sha256').digest();

/** Largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * An append-only tree over leaf hashes. Roots of any prefix are computed from the leaves;
 * the root of the whole tree is kept incrementally (a stack of perfect subtrees).
 */
export class MerkleTree {
  private readonly leaves: Hash[] = [];
  /** Perfect subtree roots, largest first, with their sizes (the binary decomposition of size). */
  private frontier: { size: number; hash: Hash }[] = [];

  get size(): number {
    return this.leaves.length;
  }

  leaf(index: number): Hash {
    const h = this.leaves[index];
    if (!h) throw new RangeError(`leaf ${index} outside tree of size ${this.size}`);
    return h;
  }

  append(leaf: Hash): void {
    this.leaves.push(leaf);
    let node = { size: 1, hash: leaf };
    while (this.frontier.length > 0 && this.frontier[this.frontier.length - 1]!.size === node.size) {
      const left = this.frontier.pop()!;
      node = { size: left.size * 2, hash: nodeHash(left.hash, node.hash) };
    }
    this.frontier.push(node);
  }

  /** Root of the first `size` leaves (default: all). */
  root(size = this.size): Hash {
    if (size < 0 || size > this.size || !Number.isInteger(size)) throw new RangeError(`tree size ${size} outside 0..${this.size}`);
    if (size === 0) return EMPTY_ROOT;
    if (size === this.size) {
      let acc: Hash | null = null;
      for (let i = this.frontier.length - 1; i >= 0; i--) acc = acc ? nodeHash(this.frontier[i]!.hash, acc) : this.frontier[i]!.hash;
      return acc!;
    }
    return this.subtree(0, size);
  }

  /** MTH(D[lo:hi]). */
  private subtree(lo: number, hi: number): Hash {
    const n = hi - lo;
    if (n === 1) return this.leaves[lo]!;
    const k = splitPoint(n);
    return nodeHash(this.subtree(lo, lo + k), this.subtree(lo + k, hi));
  }

  /** Audit path for leaf `index` in the tree of the first `size` leaves (RFC 6962 2.1.1). */
  inclusionProof(index: number, size = this.size): Hash[] {
    if (size > this.size || index < 0 || index >= size) throw new RangeError(`no leaf ${index} in a tree of size ${size}`);
    const path = (m: number, lo: number, hi: number): Hash[] => {
      const n = hi - lo;
      if (n === 1) return [];
      const k = splitPoint(n);
      return m < k
        ? [...path(m, lo, lo + k), this.subtree(lo + k, hi)]
        : [...path(m - k, lo + k, hi), this.subtree(lo, lo + k)];
    };
    return path(index, 0, size);
  }

  /** Consistency proof between the trees of the first `m` and the first `n` leaves (RFC 6962 2.1.2). */
  consistencyProof(m: number, n = this.size): Hash[] {
    if (n > this.size || m < 0 || m > n) throw new RangeError(`no consistency proof from size ${m} to ${n} (tree has ${this.size})`);
    if (m === 0 || m === n) return [];
    const subproof = (m: number, lo: number, hi: number, complete: boolean): Hash[] => {
      const n = hi - lo;
      if (m === n) return complete ? [] : [this.subtree(lo, hi)];
      const k = splitPoint(n);
      return m <= k
        ? [...subproof(m, lo, lo + k, complete), this.subtree(lo + k, hi)]
        : [...subproof(m - k, lo + k, hi, false), this.subtree(lo, lo + k)];
    };
    return subproof(m, 0, n, true);
  }
}

/** RFC 9162 2.1.3.2: does `proof` show leaf `index` with hash `leaf` is in the tree (size, root)? */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}

/** RFC 9162 2.1.4.2: does `proof` show the tree (size1, root1) is a prefix of (size2, root2)? */
export function verifyConsistency(
  size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[],
): boolean {
  if (!Number.isInteger(size1) || !Number.isInteger(size2) || size1 < 0 || size2 < size1) return false;
  const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  if (size1 === size2) return proof.length === 0 && eq(root1, root2);
  if (size1 === 0) return proof.length === 0; // the empty tree is a prefix of every tree
  if (proof.length === 0) return false;
  let path = [...proof];
  // Sizes may exceed 2^32, so no 32-bit bit operations here.
  if (Number.isInteger(Math.log2(size1))) path = [Buffer.from(root1), ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && eq(fr, root1) && eq(sr, root2);
}
