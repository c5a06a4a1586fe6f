// Signing keys for the study log: the coordinator's Ed25519 key (tree heads) and any site key
// (Ed25519, or the ECDSA P-256 key of its mTLS certificate) for update signatures and
// co-signatures. Everything goes through node:crypto.
import {
  createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject,
} from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FlError } from '../errors/index.js';

export class AuditKeyError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('audit.key', message, options);
  }
}

/** A fresh Ed25519 private key. */
export function generateSigningKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** Key id: SHA-256 of the DER SubjectPublicKeyInfo, hex (as RFC 6962's log id). */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** Base64 DER SPKI: the compact form of a public key stored in records. */
export function publicKeyBase64(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** Parses a public key given as PEM or base64 DER SPKI. */
export function parsePublicKey(text: string, what = 'public key'): KeyObject {
  try {
    if (text.includes('-----BEGIN')) return createPublicKey(text);
    return createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch (err) {
    throw new AuditKeyError(`${what} is not a valid PEM or base64 SPKI public key: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes a private key as PKCS#8 PEM readable by the owner only. */
export async function saveSigningKey(path: string, key: KeyObject): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, privateKeyPem(key), { mode: 0o600 });
}

export async function loadSigningKey(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new AuditKeyError(`${path}: cannot read signing key: ${(err as Error).message}`, { cause: err });
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new AuditKeyError(`${path}: not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
}

export async function loadPublicKey(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new AuditKeyError(`${path}: cannot read public key: ${(err as Error).message}`, { cause: err });
  }
  return parsePublicKey(pem, path);
}

/** Signs with Ed25519 (pure) or ECDSA/RSA over SHA-256; base64 (ECDSA in DER form). */
export function signBytes(key: KeyObject, data: Uint8Array | string): string {
  const alg = key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256';
  return sign(alg, typeof data === 'string' ? Buffer.from(data) : data, key).toString('base64');
}

/** Verifies a base64 signature; ECDSA signatures may be DER or IEEE P1363 (WebCrypto) encoded. */
export function verifyBytes(key: KeyObject, data: Uint8Array | string, signatureB64: string): boolean {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const sig = Buffer.from(signatureB64, 'base64');
  if (sig.length === 0 || sig.toString('base64') !== signatureB64) return false;
  try {
    if (key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448') return verify(null, bytes, key, sig);
    if (key.asymmetricKeyType === 'ec') {
      return verify('sha256', bytes, { key, dsaEncoding: 'der' }, sig) || verify('sha256', bytes, { key, dsaEncoding: 'ieee-p1363' }, sig);
    }
    return verify('sha256', bytes, key, sig);
  } catch {
    return false;
  }
}

/** Loads the key at `path`, or generates and saves a new Ed25519 key there when it does not exist. */
export async function loadOrCreateSigningKey(path: string): Promise<KeyObject> {
  try {
    await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AuditKeyError(`${path}: cannot read signing key: ${(err as Error).message}`, { cause: err });
    const key = generateSigningKey();
    await saveSigningKey(path, key);
    return key;
  }
  return loadSigningKey(path);
}
