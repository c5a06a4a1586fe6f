// In-process simulations of whole secure-aggregation rounds: sites and server exchange the
// protocol's messages through plain function calls, masked uploads through a Map of byte buffers.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FlError } from '../errors/index.js';
import { SecAggClient, fillFromFloats, fillFromRing } from './client.js';
import { minimumThreshold } from './params.js';
import { dequantize, quantizationErrorBound, quantize, ringToTensors, step, tensorsToRing } from './quantize.js';
import { replayUnmask } from './replay.js';
import { SecAggServer, type SecAggResult } from './server.js';
import { Session } from './session.js';
import type { UnmaskRequest } from './messages.js';

/** Small deterministic generator for test data (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function siteNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `hospital-${String.fromCharCode(97 + i)}`);
}

function byteEntropy(bytes: Uint8Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b]!++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / bytes.length) * Math.log2(c / bytes.length);
  return h;
}

interface Scenario {
  n: number;
  threshold?: number;
  elements?: number;
  chunkElements?: number;
  bits?: number;
  clip?: number;
  /** Sites that go silent after advertising (never send shares). */
  dropBeforeShares?: string[];
  /** Sites that go silent after sharing keys (never upload). */
  dropBeforeMasked?: string[];
  /** Sites that upload, then go silent (never answer the unmask request). */
  dropAfterMasked?: string[];
  signed?: boolean;
  /** Float updates per site (default: random in [-clip, clip]). */
  updates?: Map<string, Float32Array>;
  weights?: Map<string, number>;
}

interface Outcome {
  session: Session;
  result: SecAggResult;
  rings: Map<string, Uint32Array>;
  uploads: Map<string, Uint8Array>;
  updates: Map<string, Float32Array>;
}

function identities(sites: string[]): { priv: Map<string, KeyObject>; pub: Map<string, KeyObject> } {
  const priv = new Map<string, KeyObject>();
  const pub = new Map<string, KeyObject>();
  for (const s of sites) {
    const kp = generateKeyPairSync('ed25519');
    priv.set(s, kp.privateKey);
    pub.set(s, kp.publicKey);
  }
  return { priv, pub };
}

function setup(sc: Scenario) {
  const sites = siteNames(sc.n);
  const session = new Session({
    study: 'sln-us-2026',
    round: 4,
    sites,
    threshold: sc.threshold ?? minimumThreshold(sc.n),
    quantization: { clip: sc.clip ?? 0.5, bits: sc.bits ?? 20 },
    elements: sc.elements ?? 1003,
    chunkElements: sc.chunkElements ?? 256,
  });
  const ids = sc.signed ? identities(sites) : null;
  const clients = new Map(sites.map((s) => [s, new SecAggClient(session, s, ids ? { identity: { privateKey: ids.priv.get(s)!, peers: ids.pub } } : {})]));
  const server = new SecAggServer(session, ids ? { peers: ids.pub } : {});
  return { sites, session, clients, server };
}

async function runRound(sc: Scenario): Promise<Outcome> {
  const { sites, session, clients, server } = setup(sc);
  const r = rng(sc.n * 7919 + (sc.elements ?? 1003));
  const updates = sc.updates ?? new Map(sites.map((s) => [s, Float32Array.from({ length: session.elements }, () => (r() * 2 - 1) * (sc.clip ?? 0.5))]));
  const weights = sc.weights ?? new Map(sites.map((s) => [s, 1]));
  const before = new Set(sc.dropBeforeShares ?? []);
  const beforeMasked = new Set(sc.dropBeforeMasked ?? []);
  const after = new Set(sc.dropAfterMasked ?? []);

  for (const s of sites) server.receiveAdvertise(clients.get(s)!.advertise());
  const roster = server.closeAdvertise();
  for (const s of sites) {
    const shares = clients.get(s)!.receiveRoster(roster);
    if (!before.has(s)) server.receiveShares(shares);
  }
  const relays = server.closeShares();
  for (const relay of relays) clients.get(relay.to)!.receiveRelay(relay);
  const uploads = new Map<string, Uint8Array>();
  const rings = new Map<string, Uint32Array>();
  for (const relay of relays) {
    const s = relay.to;
    if (beforeMasked.has(s)) continue;
    const c = clients.get(s)!;
    const parts: Uint8Array[] = [...c.maskedChunks(fillFromFloats(updates.get(s)!, session, weights.get(s)!), weights.get(s)!)];
    uploads.set(s, Buffer.concat(parts));
    rings.set(s, quantize(updates.get(s)!, session.quantization, weights.get(s)!));
    server.receiveMaskedDone(c.maskedDone());
  }
  let req = server.closeMasked();
  if (req.type === 'secagg.consistency-request') {
    for (const s of req.survivors) server.receiveConsistency(clients.get(s)!.receiveConsistencyRequest(req));
    req = server.closeConsistency();
  }
  for (const s of req.survivors) if (!after.has(s)) server.receiveUnmask(clients.get(s)!.receiveUnmaskRequest(req));
  const result = await server.unmask((site, start, count) => uploads.get(site)!.subarray(start * 4, (start + count) * 4));
  return { session, result, rings, uploads, updates };
}

function plainSum(rings: Iterable<Uint32Array>, length: number): Uint32Array {
  const out = new Uint32Array(length);
  for (const r of rings) for (let i = 0; i < length; i++) out[i] = out[i]! + r[i]!;
  return out;
}

function expectFlError(fn: () => unknown, code: string, text?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FlError);
  expect((caught as FlError).code).toBe(code);
  if (text) expect((caught as FlError).message).toMatch(text);
}

describe('secure aggregation round (in-process)', () => {
  for (const n of [3, 5, 10]) {
    it(`n=${n}: no dropout gives the exact sum of all quantised vectors`, async () => {
      const o = await runRound({ n });
      expect(o.result.survivors).toHaveLength(n);
      expect(o.result.sum).toEqual(plainSum(o.rings.values(), o.session.elements));
    });

    it(`n=${n}: a site dropping before its masked upload; the sum of the rest is exact`, async () => {
      const sites = siteNames(n);
      const o = await runRound({ n, dropBeforeMasked: [sites[1]!] });
      expect(o.result.dropped).toEqual([sites[1]]);
      expect(o.result.survivors).not.toContain(sites[1]);
      expect(o.rings.has(sites[1]!)).toBe(false);
      expect(o.result.sum).toEqual(plainSum(o.rings.values(), o.session.elements));
      expect(Object.keys(o.result.revealed.droppedMaskKeys)).toEqual([sites[1]]);
      expect(Object.keys(o.result.revealed.selfSeeds)).not.toContain(sites[1]);
    });

    it(`n=${n}: a site dropping after its masked upload; its input is still in the exact sum`, async () => {
      const sites = siteNames(n);
      const o = await runRound({ n, dropAfterMasked: [sites[n - 1]!] });
      expect(o.result.survivors).toContain(sites[n - 1]);
      expect(o.result.dropped).toEqual([]);
      expect(o.result.sum).toEqual(plainSum(o.rings.values(), o.session.elements));
    });
  }

  it('n=10, T=7: one site drops before its masked upload and one after; sum of the 9 uploads is exact', async () => {
    const sites = siteNames(10);
    const o = await runRound({ n: 10, dropBeforeMasked: [sites[3]!], dropAfterMasked: [sites[6]!] });
    expect(o.result.survivors).toHaveLength(9);
    expect(o.result.sum).toEqual(plainSum(o.rings.values(), o.session.elements));
  });

  it('n=10: a site dropping before sharing keys is left out of every mask', async () => {
    const sites = siteNames(10);
    const o = await runRound({ n: 10, dropBeforeShares: [sites[0]!], dropBeforeMasked: [sites[9]!] });
    expect(o.result.survivors).toHaveLength(8);
    expect(o.result.dropped).toEqual([sites[9]]);
    expect(o.result.sum).toEqual(plainSum(o.rings.values(), o.session.elements));
  });

  it('n=5, chunk of 4 elements and a length not a multiple of 4: exact', async () => {
    const o = await runRound({ n: 5, elements: 37, chunkElements: 4, dropBeforeMasked: ['hospital-e'] });
    expect(o.result.sum).toEqual(plainSum(o.rings.values(), 37));
  });

  it('signed mode (Ed25519 identities, consistency check): exact sum with dropouts', async () => {
    const sites = siteNames(10);
    const o = await runRound({ n: 10, signed: true, dropBeforeMasked: [sites[2]!], dropAfterMasked: [sites[5]!] });
    expect(o.result.sum).toEqual(plainSum(o.rings.values(), o.session.elements));
  });

  it('audit replay re-derives the aggregate from the masked uploads and the revealed secrets', async () => {
    const o = await runRound({ n: 5, dropBeforeMasked: ['hospital-b'] });
    const { sum, ...record } = o.result;
    const again = await replayUnmask(o.session, record, (site, start, count) => o.uploads.get(site)!.subarray(start * 4, (start + count) * 4));
    expect(again).toEqual(sum);
    const altered = new Map(o.uploads);
    const bad = Buffer.from(altered.get('hospital-a')!);
    bad[10]! ^= 1;
    altered.set('hospital-a', bad);
    await expect(replayUnmask(o.session, record, (site, start, count) => altered.get(site)!.subarray(start * 4, (start + count) * 4))).rejects.toThrow(/does not match the digest/);
  });
});

describe('masked uploads reveal nothing by themselves', () => {
  it('64 KiB of a masked upload has byte entropy > 7.9 bits and differs from the plain quantised input', async () => {
    // Plain input: a smooth, low-entropy update (small values around 0, as real updates are).
    const elements = 16384; // 64 KiB
    const n = 3;
    const updates = new Map(siteNames(n).map((s, k) => [s, Float32Array.from({ length: elements }, (_, i) => 1e-3 * Math.sin(i / 50 + k))]));
    const o = await runRound({ n, elements, chunkElements: 4096, updates });
    for (const [site, upload] of o.uploads) {
      const plain = new Uint8Array(o.rings.get(site)!.buffer);
      expect(upload.length).toBe(65536);
      expect(byteEntropy(plain)).toBeLessThan(6);
      expect(byteEntropy(upload)).toBeGreaterThan(7.9);
      let same = 0;
      const ring = new Uint32Array(Buffer.from(upload).buffer.slice(0));
      for (let i = 0; i < elements; i++) if (ring[i] === o.rings.get(site)![i]) same++;
      expect(same).toBeLessThan(5); // a 32-bit coincidence: expected 16384 / 2^32 matches
    }
  });

  it('two sites with the same update upload unrelated bytes', async () => {
    const elements = 4096;
    const x = Float32Array.from({ length: elements }, (_, i) => Math.cos(i) * 0.1);
    const updates = new Map(siteNames(3).map((s) => [s, x]));
    const o = await runRound({ n: 3, elements, updates });
    const [a, b] = [...o.uploads.values()];
    expect(Buffer.compare(Buffer.from(a!), Buffer.from(b!))).not.toBe(0);
  });
});

describe('fewer than T: clean failure, nothing revealed', () => {
  it('n=3, T=2: two sites drop before uploading -> closeMasked fails, no unmask request is sent', async () => {
    const { sites, clients, server } = setup({ n: 3 });
    for (const s of sites) server.receiveAdvertise(clients.get(s)!.advertise());
    const roster = server.closeAdvertise();
    for (const s of sites) server.receiveShares(clients.get(s)!.receiveRoster(roster));
    for (const relay of server.closeShares()) clients.get(relay.to)!.receiveRelay(relay);
    const c = clients.get(sites[0]!)!;
    [...c.maskedChunks(fillFromRing(new Uint32Array(1003)))];
    server.receiveMaskedDone(c.maskedDone());
    expectFlError(() => server.closeMasked(), 'secagg.too-few', /1 masked inputs arrived, fewer than the threshold T=2.*nothing was revealed/);
    expect(server.state).toBe('failed');
    expect(server.failedBecause).toMatch(/fewer than the threshold/);
    expectFlError(() => server.closeMasked(), 'secagg.phase');
  });

  it('n=5, T=4: one drop before and one after upload leaves 3 answers -> unmask fails before reconstructing anything', async () => {
    const sites = siteNames(5);
    await expect(runRound({ n: 5, dropBeforeMasked: [sites[0]!], dropAfterMasked: [sites[4]!] })).rejects.toMatchObject({ code: 'secagg.too-few' });
  });

  it('too few advertisements or share messages stop the round early', () => {
    const { sites, clients, server } = setup({ n: 5 });
    for (const s of sites.slice(0, 3)) server.receiveAdvertise(clients.get(s)!.advertise());
    expectFlError(() => server.closeAdvertise(), 'secagg.too-few', /3 sites advertised keys, fewer than the threshold T=4/);
  });

  it('a site refuses an unmask request naming fewer than T survivors, and reveals no share', () => {
    const { sites, clients, server } = setup({ n: 5 });
    for (const s of sites) server.receiveAdvertise(clients.get(s)!.advertise());
    const roster = server.closeAdvertise();
    for (const s of sites) server.receiveShares(clients.get(s)!.receiveRoster(roster));
    for (const relay of server.closeShares()) clients.get(relay.to)!.receiveRelay(relay);
    const c = clients.get(sites[0]!)!;
    [...c.maskedChunks(fillFromRing(new Uint32Array(1003)))];
    c.maskedDone();
    const forged: UnmaskRequest = { type: 'secagg.unmask-request', study: 'sln-us-2026', round: 4, survivors: sites.slice(0, 3), dropped: sites.slice(3) };
    expectFlError(() => c.receiveUnmaskRequest(forged), 'secagg.too-few', /fewer than the threshold 4; nothing revealed/);
    expect(c.state).toBe('failed');
  });
});

describe('tampered, replayed and malformed messages are refused', () => {
  function toRelays(n = 5, signed = false) {
    const { sites, clients, server, session } = setup({ n, signed });
    for (const s of sites) server.receiveAdvertise(clients.get(s)!.advertise());
    const roster = server.closeAdvertise();
    for (const s of sites) server.receiveShares(clients.get(s)!.receiveRoster(roster));
    return { sites, clients, server, session, roster, relays: server.closeShares() };
  }

  it('a bit flipped in a relayed share ciphertext', () => {
    const { clients, relays } = toRelays();
    const r = structuredClone(relays[0]!);
    const ct = Buffer.from(r.shares[1]!.ciphertext, 'base64');
    ct[20]! ^= 0x01;
    r.shares[1]!.ciphertext = ct.toString('base64');
    expectFlError(() => clients.get(r.to)!.receiveRelay(r), 'secagg.tampered', /fails authentication/);
  });

  it('a ciphertext relabelled as coming from another site, or delivered to another site', () => {
    const { clients, relays } = toRelays();
    const r = structuredClone(relays[0]!);
    [r.shares[0]!.from, r.shares[1]!.from] = [r.shares[1]!.from, r.shares[0]!.from];
    expectFlError(() => clients.get(r.to)!.receiveRelay(r), 'secagg.tampered');
    const other = structuredClone(relays[1]!);
    other.to = relays[0]!.to;
    other.shares = other.shares.filter((e) => e.from !== relays[0]!.to);
    expectFlError(() => clients.get(relays[0]!.to)!.receiveRelay(other), 'secagg.tampered');
  });

  it('a roster replayed from another round, or with a substituted key', () => {
    const { sites, clients, server } = setup({ n: 3 });
    for (const s of sites) server.receiveAdvertise(clients.get(s)!.advertise());
    const roster = server.closeAdvertise();
    expectFlError(() => clients.get(sites[0]!)!.receiveRoster({ ...roster, round: 3 }), 'secagg.replay');
    const swapped = structuredClone(roster);
    swapped.keys[0]!.maskKey = swapped.keys[1]!.maskKey;
    expectFlError(() => clients.get(sites[0]!)!.receiveRoster(swapped), 'secagg.roster');
  });

  it('signed mode: a server that substitutes a site\'s advertised keys is caught', () => {
    const { sites, clients, server } = setup({ n: 3, signed: true });
    for (const s of sites) server.receiveAdvertise(clients.get(s)!.advertise());
    const roster = server.closeAdvertise();
    const mitm = new SecAggClient(new Session({ study: 'sln-us-2026', round: 4, sites, threshold: 2, quantization: { clip: 0.5, bits: 20 }, elements: 1003 }), sites[2]!);
    const fake = mitm.advertise();
    const forged = structuredClone(roster);
    forged.keys[2] = { ...forged.keys[2]!, encKey: fake.encKey, maskKey: fake.maskKey };
    expectFlError(() => clients.get(sites[0]!)!.receiveRoster(forged), 'secagg.signature', /hospital-c are not signed/);
  });

  it('signed mode: an unmask request whose survivor list differs from the signed one, or lacks T signatures, is refused', () => {
    const { sites, clients, server } = setup({ n: 5, signed: true });
    for (const s of sites) server.receiveAdvertise(clients.get(s)!.advertise());
    const roster = server.closeAdvertise();
    for (const s of sites) server.receiveShares(clients.get(s)!.receiveRoster(roster));
    for (const r of server.closeShares()) clients.get(r.to)!.receiveRelay(r);
    for (const s of sites) {
      const c = clients.get(s)!;
      [...c.maskedChunks(fillFromRing(new Uint32Array(1003)))];
      server.receiveMaskedDone(c.maskedDone());
    }
    const creq = server.closeMasked();
    expect(creq.type).toBe('secagg.consistency-request');
    for (const s of sites) server.receiveConsistency(clients.get(s)!.receiveConsistencyRequest(creq));
    const req = server.closeConsistency();
    // Site a is told that e dropped although it signed a list with e surviving.
    const lie: UnmaskRequest = { ...req, survivors: sites.slice(0, 4), dropped: [sites[4]!] };
    expectFlError(() => clients.get(sites[0]!)!.receiveUnmaskRequest(lie), 'secagg.consistency', /differs from the one site hospital-a signed/);
    // Site b gets the right list with only 3 of the 4 needed signatures.
    const few: UnmaskRequest = { ...req, signatures: req.signatures!.slice(0, 3) };
    expectFlError(() => clients.get(sites[1]!)!.receiveUnmaskRequest(few), 'secagg.consistency', /only 3 survivors signed/);
    // Site c gets one signature forged by the coordinator.
    const forged: UnmaskRequest = { ...req, signatures: req.signatures!.map((x, i) => (i === 0 ? { ...x, signature: req.signatures![1]!.signature } : x)).slice(0, 4) };
    expectFlError(() => clients.get(sites[2]!)!.receiveUnmaskRequest(forged), 'secagg.consistency', /only 3 survivors signed/);
    expect(clients.get(sites[3]!)!.receiveUnmaskRequest(req).seedShares).toHaveLength(5);
  });

  it('server: duplicate, foreign-round, unknown-site, late and malformed messages', () => {
    const { sites, clients, server } = setup({ n: 3 });
    const ad = clients.get(sites[0]!)!.advertise();
    server.receiveAdvertise(ad);
    expectFlError(() => server.receiveAdvertise(ad), 'secagg.replay', /second advertisement/);
    expectFlError(() => server.receiveAdvertise({ ...ad, site: sites[1], round: 9 }), 'secagg.replay');
    expectFlError(() => server.receiveAdvertise({ ...ad, site: 'hospital-z' }), 'secagg.site');
    expectFlError(() => server.receiveAdvertise({ ...ad, encKey: 'AAAA' }), 'secagg.message', /encKey: must decode to 32 bytes/);
    expectFlError(() => server.receiveAdvertise({ ...ad, extra: 1 }), 'secagg.message');
    for (const s of sites.slice(1)) server.receiveAdvertise(clients.get(s)!.advertise());
    server.closeAdvertise();
    expectFlError(() => server.receiveAdvertise(ad), 'secagg.phase', /late, early or replayed/);
  });

  it('server: shares that skip a peer, masked-input replay and wrong length', () => {
    const { sites, clients, server, relays } = toRelays(3);
    for (const r of relays) clients.get(r.to)!.receiveRelay(r);
    const c = clients.get(sites[0]!)!;
    [...c.maskedChunks(fillFromRing(new Uint32Array(1003)))];
    const done = c.maskedDone();
    server.receiveMaskedDone(done);
    expectFlError(() => server.receiveMaskedDone(done), 'secagg.replay');
    const c1 = clients.get(sites[1]!)!;
    [...c1.maskedChunks(fillFromRing(new Uint32Array(1003)))];
    expectFlError(() => server.receiveMaskedDone({ ...c1.maskedDone(), elements: 1000 }), 'secagg.upload');

    const t = setup({ n: 3 });
    for (const s of t.sites) t.server.receiveAdvertise(t.clients.get(s)!.advertise());
    const roster = t.server.closeAdvertise();
    const sh = t.clients.get(t.sites[0]!)!.receiveRoster(roster);
    expectFlError(() => t.server.receiveShares({ ...sh, shares: sh.shares.slice(1) }), 'secagg.shares');
  });

  it('client: an unmask request naming a site both survived and dropped, and a second request', async () => {
    const { sites, clients, server, relays } = toRelays(5);
    for (const r of relays) clients.get(r.to)!.receiveRelay(r);
    for (const s of sites) {
      const c = clients.get(s)!;
      [...c.maskedChunks(fillFromRing(new Uint32Array(1003)))];
      server.receiveMaskedDone(c.maskedDone());
    }
    const req = server.closeMasked() as UnmaskRequest;
    const both: UnmaskRequest = { ...req, dropped: [sites[4]!] };
    expectFlError(() => clients.get(sites[0]!)!.receiveUnmaskRequest(both), 'secagg.unmask', /both as survivor and as dropped/);
    // The refused request used up site 0's one answer; site 1 answers once, then refuses a replay.
    clients.get(sites[1]!)!.receiveUnmaskRequest(req);
    expectFlError(() => clients.get(sites[1]!)!.receiveUnmaskRequest(req), 'secagg.phase');
  });

  it('an altered share in an unmask response is detected when more than T sites answer', async () => {
    const { sites, clients, server, relays } = toRelays(5);
    for (const r of relays) clients.get(r.to)!.receiveRelay(r);
    const uploads = new Map<string, Uint8Array>();
    for (const s of sites) {
      const c = clients.get(s)!;
      uploads.set(s, Buffer.concat([...c.maskedChunks(fillFromRing(new Uint32Array(1003).fill(7)))]));
      server.receiveMaskedDone(c.maskedDone());
    }
    const req = server.closeMasked() as UnmaskRequest;
    for (const s of sites) {
      const resp = clients.get(s)!.receiveUnmaskRequest(req);
      if (s === sites[2]) {
        const b = Buffer.from(resp.seedShares[0]!.share, 'base64');
        b[65]! ^= 1;
        resp.seedShares[0]!.share = b.toString('base64');
      }
      server.receiveUnmask(resp);
    }
    await expect(server.unmask((site, start, count) => uploads.get(site)!.subarray(start * 4, (start + count) * 4))).rejects.toMatchObject({ code: 'secagg.share-mismatch' });
  });

  it('a masked upload altered in the spool fails its digest check', async () => {
    const { sites, clients, server, relays } = toRelays(3);
    for (const r of relays) clients.get(r.to)!.receiveRelay(r);
    const uploads = new Map<string, Uint8Array>();
    for (const s of sites) {
      const c = clients.get(s)!;
      uploads.set(s, Buffer.concat([...c.maskedChunks(fillFromRing(new Uint32Array(1003)))]));
      server.receiveMaskedDone(c.maskedDone());
    }
    const req = server.closeMasked() as UnmaskRequest;
    for (const s of sites) server.receiveUnmask(clients.get(s)!.receiveUnmaskRequest(req));
    uploads.get(sites[1]!)![100]! ^= 0x80;
    await expect(server.unmask((site, start, count) => uploads.get(site)!.subarray(start * 4, (start + count) * 4))).rejects.toThrow(/hospital-b does not match the digest/);
  });

  it('maskChunk regenerates any chunk identically (resumed upload)', () => {
    const { sites, clients, relays } = toRelays(3);
    for (const r of relays) clients.get(r.to)!.receiveRelay(r);
    const c = clients.get(sites[0]!)!;
    const ring = Uint32Array.from({ length: 1003 }, (_, i) => i * 31);
    const chunks = [...c.maskedChunks(fillFromRing(ring))];
    expect(Buffer.from(c.maskChunk(512, ring.subarray(512, 768)))).toEqual(Buffer.from(chunks[2]!));
  });
});

describe('quantisation against float FedAvg', () => {
  it('weighted FedAvg of dequantised sums is within the stated bound (n=10, one dropout)', async () => {
    const sites = siteNames(10);
    const clip = 0.05;
    const r = rng(42);
    const elements = 5000;
    const updates = new Map(sites.map((s) => [s, Float32Array.from({ length: elements }, () => (r() * 2 - 1) * clip)]));
    const examples = new Map(sites.map((s, k) => [s, 40 + 13 * k]));
    const total = [...examples.values()].reduce((a, b) => a + b, 0);
    const weights = new Map(sites.map((s) => [s, examples.get(s)! / total]));
    const bits = 16;
    const o = await runRound({ n: 10, clip, bits, elements, updates, weights, dropBeforeMasked: [sites[4]!] });
    const q = o.session.quantization;
    const m = o.result.survivors.length;
    const W = o.result.weightSum;
    const [mean] = ringToTensors(o.result.sum, { entries: [{ name: 'w', length: elements }], total: elements }, m, q, W);
    const bound = quantizationErrorBound(m, q) / W;
    let maxErr = 0;
    for (let i = 0; i < elements; i++) {
      let num = 0;
      for (const s of o.result.survivors) num += weights.get(s)! * updates.get(s)![i]!;
      const err = Math.abs(mean!.data[i]! - num / W);
      maxErr = Math.max(maxErr, err);
    }
    // float32 output adds at most half an ulp of |mean| <= clip.
    expect(maxErr).toBeLessThanOrEqual(bound + clip * 2 ** -24);
    expect(maxErr).toBeGreaterThan(bound / 100); // the bound is not vacuous
    expect(step(q)).toBeCloseTo((2 * clip) / 65535, 15);
  });

  it('dequantize of an unmasked sum equals the float sum within count * step / 2', () => {
    const q = { clip: 1, bits: 12 };
    const xs = [Float32Array.of(-1, -0.5, 0, 0.3333, 0.9999, 1, 2), Float32Array.of(1, 0.25, -0.0001, 0.1, -0.7, -1, -3)];
    const rings = xs.map((x) => quantize(x, q));
    const sum = plainSum(rings, 7);
    const deq = dequantize(sum, 2, q);
    for (let i = 0; i < 7; i++) {
      const clipped = xs.reduce((a, x) => a + Math.max(-1, Math.min(1, x[i]!)), 0);
      expect(Math.abs(deq[i]! - clipped)).toBeLessThanOrEqual(quantizationErrorBound(2, q) + 1e-12);
    }
  });

  it('tensor sets map to the ring vector and back in order', () => {
    const q = { clip: 2, bits: 24 };
    const tensors = [{ name: 'conv/kernel', data: Float32Array.of(0.5, -1.25, 2) }, { name: 'dense/bias', data: Float32Array.of(-2, 0.001) }];
    const { layout, ring } = tensorsToRing(tensors, q);
    expect(layout.total).toBe(5);
    const back = ringToTensors(ring, layout, 1, q);
    expect(back.map((t) => t.name)).toEqual(['conv/kernel', 'dense/bias']);
    const flat = [...back[0]!.data, ...back[1]!.data];
    [0.5, -1.25, 2, -2, 0.001].forEach((v, i) => expect(Math.abs(flat[i]! - v)).toBeLessThanOrEqual(step(q) / 2 + 1e-7));
    expect(() => tensorsToRing([tensors[0]!, tensors[0]!], q)).toThrow(/appears twice/);
  });
});
