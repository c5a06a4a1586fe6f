import { describe, expect, it } from 'vitest';
import { MerkleTree, leafHash, verifyConsistency, verifyInclusion, EMPTY_ROOT } from './merkle.js';

// Test vectors of the RFC 6962 reference implementation (certificate-transparency, merkle_tree_test).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

function treeOf(n: number): MerkleTree {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.append(leafHash(`record ${i}`));
  return t;
}

describe('merkle tree (RFC 6962)', () => {
  it('matches the reference roots for every prefix, incrementally and recomputed', () => {
    const t = new MerkleTree();
    expect(t.root().equals(EMPTY_ROOT)).toBe(true);
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    LEAVES.forEach((hex, i) => {
      t.append(leafHash(Buffer.from(hex, 'hex')));
      expect(t.root().toString('hex')).toBe(ROOTS[i]);
    });
    ROOTS.forEach((r, i) => expect(t.root(i + 1).toString('hex')).toBe(r));
  });

  it('inclusion proofs verify for every leaf and size, and fail when anything is changed', () => {
    const t = treeOf(21);
    for (let n = 1; n <= 21; n++) {
      const root = t.root(n);
      for (let i = 0; i < n; i++) {
        const proof = t.inclusionProof(i, n);
        expect(verifyInclusion(i, n, t.leaf(i), proof, root)).toBe(true);
        expect(verifyInclusion(i, n, leafHash('other'), proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion((i + 1) % n, n, t.leaf(i), proof, root)).toBe(false);
        if (proof.length > 0) {
          const bad = proof.map((p) => Buffer.from(p));
          bad[0]![0]! ^= 1;
          expect(verifyInclusion(i, n, t.leaf(i), bad, root)).toBe(false);
          expect(verifyInclusion(i, n, t.leaf(i), proof.slice(1), root)).toBe(false);
        }
      }
    }
  });

  it('consistency proofs verify between every pair of sizes, and fail for a rewritten history', () => {
    const t = treeOf(19);
    const forked = treeOf(19);
    const alt = new MerkleTree();
    for (let i = 0; i < 19; i++) alt.append(leafHash(i === 4 ? 'forged' : `record ${i}`));
    for (let n = 1; n <= 19; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = t.consistencyProof(m, n);
        expect(verifyConsistency(m, n, t.root(m), t.root(n), proof)).toBe(true);
        expect(forked.root(n).equals(t.root(n))).toBe(true);
        if (m > 4 && m < n) {
          // The altered tree cannot prove it extends the honest one (or vice versa).
          expect(verifyConsistency(m, n, t.root(m), alt.root(n), alt.consistencyProof(m, n))).toBe(false);
          expect(verifyConsistency(m, n, alt.root(m), t.root(n), proof)).toBe(false);
        }
        if (m > 0 && m < n) {
          expect(verifyConsistency(m, n, t.root(m), t.root(n), proof.slice(0, -1))).toBe(false);
          expect(verifyConsistency(m, n + 0, t.root(m), t.root(n - 1), proof)).toBe(false);
        }
      }
    }
  });
});
