// Checks against reference values computed independently in Python (`cryptography` for X25519,
// HKDF and AES-CTR; Python integers for Shamir and the quantiser): fixtures/make_reference.py.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SecAggClient, fillFromRing } from './client.js';
import { addPrgInto, roundSalt, x25519Agree, x25519FromSecret } from './crypto.js';
import { quantize } from './quantize.js';
import { SecAggServer } from './server.js';
import { Session } from './session.js';
import { interpolate, reconstruct, split } from './shamir.js';

const ref = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');

describe('crypto building blocks against Python cryptography', () => {
  it('X25519: RFC 7748 section 6.1 vector', () => {
    const a = x25519FromSecret(hex(ref.x25519.alice_secret));
    const b = x25519FromSecret(hex(ref.x25519.bob_secret));
    expect(a.public.toString('hex')).toBe(ref.x25519.alice_public);
    expect(b.public.toString('hex')).toBe(ref.x25519.bob_public);
    expect(x25519Agree(a.secret, b.public).toString('hex')).toBe(ref.x25519.shared);
    expect(x25519Agree(b.secret, a.public).toString('hex')).toBe(ref.x25519.shared);
  });

  it('X25519: a low-order peer key (all-zero shared secret) is refused', () => {
    const a = x25519FromSecret(hex(ref.x25519.alice_secret));
    expect(() => x25519Agree(a.secret, Buffer.alloc(32))).toThrow(/low order/);
  });

  it('round salt', () => {
    expect(roundSalt(ref.salt.study, ref.salt.round).toString('hex')).toBe(ref.salt.hex);
  });

  it('AES-256-CTR mask PRG at arbitrary element offsets, added and subtracted mod 2^32', () => {
    for (const p of ref.prg) {
      const out = new Uint32Array(p.count);
      addPrgInto(out, hex(p.key), p.start, 1, Buffer.alloc(4 * p.count));
      expect([...out]).toEqual(p.words);
      addPrgInto(out, hex(p.key), p.start, -1, Buffer.alloc(4 * p.count));
      expect([...out]).toEqual(new Array(p.count).fill(0));
    }
  });
});

describe('Shamir over GF(2^521 - 1) against Python integers', () => {
  const s = ref.shamir;
  it('shares of a fixed polynomial and reconstruction from any T of them', () => {
    const shares = split(BigInt(s.secret), s.threshold, 5, s.coefficients.map((c: string) => BigInt(c)));
    expect(shares.map((x) => '0x' + x.y.toString(16))).toEqual(s.shares.map((x: { y: string }) => x.y));
    const pick = [shares[1]!, shares[3]!, shares[4]!];
    expect(interpolate(pick, 0n)).toBe(BigInt(s.from_2_4_5));
    expect(reconstruct(shares, 3)).toBe(BigInt(s.secret));
  });

  it('T-1 shares are refused, and interpolating them does not give the secret', () => {
    const shares = split(BigInt(s.secret), 3, 5).slice(0, 2);
    expect(() => reconstruct(shares, 3)).toThrow(/2 shares, 3 needed/);
    expect(interpolate(shares, 0n)).not.toBe(BigInt(s.secret));
  });
});

describe('a whole masking against the Python re-implementation', () => {
  it('three sites with fixed secrets produce the reference masked vectors and the exact sum', async () => {
    const m = ref.masking;
    const session = new Session({ study: m.study, round: m.round, sites: m.sites, threshold: 2, quantization: { clip: 1, bits: 20 }, elements: m.elements, chunkElements: m.chunkElements });
    const clients = new Map<string, SecAggClient>(m.sites.map((site: string) => [site, new SecAggClient(session, site, {
      secrets: { encSecret: hex(m.secrets[site].enc), maskSecret: hex(m.secrets[site].mask), selfSeed: hex(m.secrets[site].seed) },
    })]));
    const server = new SecAggServer(session);
    for (const c of clients.values()) server.receiveAdvertise(c.advertise());
    const roster = server.closeAdvertise();
    for (const c of clients.values()) server.receiveShares(c.receiveRoster(roster));
    for (const r of server.closeShares()) clients.get(r.to)!.receiveRelay(r);
    const uploads = new Map<string, Buffer>();
    for (const [site, c] of clients) {
      const bytes = Buffer.concat([...c.maskedChunks(fillFromRing(Uint32Array.from(m.plain[site])))]);
      const y = new Uint32Array(bytes.buffer, bytes.byteOffset, m.elements);
      expect([...y]).toEqual(m.masked[site]);
      uploads.set(site, bytes);
      server.receiveMaskedDone(c.maskedDone());
    }
    expect(session.pairSeed(hex(m.secrets['hospital-a'].mask), x25519FromSecret(hex(m.secrets['hospital-c'].mask)).public, 'hospital-a', 'hospital-c').toString('hex')).toBe(m.pairSeed_a_c);
    const req = server.closeMasked();
    for (const c of clients.values()) server.receiveUnmask(c.receiveUnmaskRequest(req));
    const res = await server.unmask((site, start, count) => uploads.get(site)!.subarray(start * 4, (start + count) * 4));
    const want = Array.from({ length: m.elements }, (_, i) => m.sites.reduce((a: number, s: string) => a + m.plain[s][i], 0));
    expect([...res.sum]).toEqual(want);
  });
});

describe('quantiser against the Python formula', () => {
  it('round half up after clipping and weighting', () => {
    const q = ref.quantize;
    expect([...quantize(Float64Array.from(q.x), { clip: q.clip, bits: q.bits }, q.weight)]).toEqual(q.q);
  });
});
