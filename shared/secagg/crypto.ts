// The cryptographic building blocks of secure aggregation, all from node:crypto (OpenSSL):
//   - X25519 key agreement (RFC 7748) for the pairwise mask seeds and the share-encryption keys;
//   - HKDF-SHA256 (RFC 5869) to turn a shared secret into a 32-byte key bound to the round;
//   - AES-256-CTR keystream as the mask PRG (a key is used for one round only, IV = block index,
//     so any chunk of the mask can be generated on its own: O(chunk) memory, resumable uploads);
//   - AES-256-GCM to encrypt Shamir shares to a peer (the coordinator relays them unread);
//   - Ed25519 signatures (optional) over advertised keys and the survivor list.
// No new cryptography: these are used exactly as in Bonawitz et al. 2017 (CCS), section 4.
import {
  createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman,
  generateKeyPairSync, hkdfSync, randomBytes, sign, verify, type KeyObject,
} from 'node:crypto';
import { FlError } from '../errors/index.js';

export const KEY_BYTES = 32;

/** DER prefixes of a raw X25519 key (RFC 8410): PKCS#8 private, SPKI public. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface X25519Pair {
  /** Raw 32-byte private scalar (as in RFC 7748; clamped on use). */
  readonly secret: Buffer;
  /** Raw 32-byte public u-coordinate. */
  readonly public: Buffer;
}

export function x25519Generate(): X25519Pair {
  const { privateKey } = generateKeyPairSync('x25519');
  return x25519FromSecret(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(X25519_PKCS8_PREFIX.length));
}

export function x25519FromSecret(secret: Uint8Array): X25519Pair {
  if (secret.length !== KEY_BYTES) throw new FlError('secagg.key', `X25519 secret key must be ${KEY_BYTES} bytes, got ${secret.length}`, { user: false });
  const priv = x25519PrivateKey(secret);
  const pub = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length);
  return { secret: Buffer.from(secret), public: Buffer.from(pub) };
}

function x25519PrivateKey(secret: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
}

function x25519PublicKey(pub: Uint8Array): KeyObject {
  if (pub.length !== KEY_BYTES) throw new FlError('secagg.key', `X25519 public key must be ${KEY_BYTES} bytes, got ${pub.length}`);
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

/**
 * X25519(secret, peerPublic), refusing the all-zero output that a low-order peer key produces
 * (RFC 7748 section 6.1): such a key would make the pairwise mask known to everyone.
 */
export function x25519Agree(secret: Uint8Array, peerPublic: Uint8Array): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: x25519PrivateKey(secret), publicKey: x25519PublicKey(peerPublic) });
  } catch (err) {
    // OpenSSL itself refuses a result of all zeros.
    throw new FlError('secagg.key', 'X25519 peer key is of low order or invalid; refusing it', { cause: err });
  }
  if (shared.every((b) => b === 0)) throw new FlError('secagg.key', 'X25519 peer key is of low order (all-zero shared secret); refusing it');
  return shared;
}

/** HKDF-SHA256 to 32 bytes. `salt` binds the key to the study and round, `info` to its use and the pair. */
export function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'utf8'), KEY_BYTES));
}

/** The 32-byte round salt: SHA-256 of a canonical description of the study and round. */
export function roundSalt(study: string, round: number): Buffer {
  return createHash('sha256').update(JSON.stringify(['fedsln-secagg-v1', study, round])).digest();
}

function counterIv(start: number): Buffer {
  if (start % 4 !== 0) throw new FlError('secagg.chunk', `mask chunk must start at a multiple of 4 elements, got ${start}`, { user: false });
  const iv = Buffer.alloc(16);
  const block = start / 4;
  iv.writeUInt32BE(Math.floor(block / 2 ** 32), 8);
  iv.writeUInt32BE(block >>> 0, 12);
  return iv;
}

function addKeystream(out: Uint32Array, bytes: Buffer, sign: 1 | -1): void {
  const ks = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, out.length) : new Uint32Array(new Uint8Array(bytes).buffer);
  if (sign === 1) for (let i = 0; i < out.length; i++) out[i] = out[i]! + ks[i]!;
  else for (let i = 0; i < out.length; i++) out[i] = out[i]! - ks[i]!;
}

/**
 * Adds (sign +1) or subtracts (sign -1) the PRG stream of `seed`, elements [start, start+out.length),
 * into `out` modulo 2^32. The stream is AES-256-CTR(key = seed, IV = 0) read as little-endian
 * uint32; element i is bytes 4i..4i+3, so element `start` (a multiple of 4) begins at counter
 * block start/4. `zeros` is a scratch buffer of at least 4*out.length zero bytes.
 */
export function addPrgInto(out: Uint32Array, seed: Uint8Array, start: number, sign: 1 | -1, zeros: Buffer): void {
  const cipher = createCipheriv('aes-256-ctr', seed, counterIv(start));
  addKeystream(out, cipher.update(zeros.subarray(0, out.length * 4)), sign);
}

/**
 * The same stream read in order: one cipher kept across consecutive chunks (saves the key schedule
 * per chunk); a chunk that does not follow the previous one starts a new cipher at its offset.
 */
export class PrgStream {
  private cipher: ReturnType<typeof createCipheriv> | null = null;
  private next = -1;
  constructor(private readonly seed: Uint8Array, readonly sign: 1 | -1) {}
  addInto(out: Uint32Array, start: number, zeros: Buffer): void {
    if (this.cipher === null || start !== this.next) this.cipher = createCipheriv('aes-256-ctr', this.seed, counterIv(start));
    addKeystream(out, this.cipher.update(zeros.subarray(0, out.length * 4)), this.sign);
    // A chunk whose length is not a multiple of 4 leaves the cipher mid-block: restart next time.
    this.next = out.length % 4 === 0 ? start + out.length : -1;
  }
}

/** AES-256-GCM with a fresh 12-byte nonce: nonce || ciphertext || 16-byte tag. */
export function sealShare(key: Uint8Array, plain: Uint8Array, aad: Uint8Array): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

/** Inverse of `sealShare`; null when the ciphertext, its AAD or the key do not match. */
export function openShare(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < 12 + 16) return null;
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
  } catch {
    return null;
  }
}

/** Ed25519 (or any node-supported one-shot) signature of `data`. */
export function signBytes(privateKey: KeyObject, data: Uint8Array): Buffer {
  return sign(null, data, privateKey);
}

export function verifyBytes(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, data, publicKey, signature);
  } catch {
    return false;
  }
}
