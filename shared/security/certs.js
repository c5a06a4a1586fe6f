// X.509 building blocks for a study's PKI: a root CA and the leaf certificates it signs.
//
// Uses @peculiar/x509 over Node's WebCrypto (ECDSA P-256 / SHA-256), never hand-written ASN.1.
// A party's role travels in the certificate as a SAN URI `fl://<role>/<name>`, its name also in
// the subject CN; the coordinator's server certificate carries DNS/IP SANs for its host.
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
x509.cryptoProvider.set(webcrypto);
const subtle = webcrypto.subtle;
const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' };
/** Party names become DNS-label-like path segments, DN values and URI paths: keep them boring. */
export const PARTY_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const STUDY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export function partyUri(role, name) {
    return `fl://${role}/${name}`;
}
function serialNumber() {
    const bytes = randomBytes(16);
    bytes[0] = bytes[0] & 0x7f; // positive INTEGER
    if (bytes[0] === 0)
        bytes[0] = 0x01; // minimal encoding, 16 significant bytes
    return bytes.toString('hex');
}
function checkValidity(v) {
    if (!(v.notBefore instanceof Date) || Number.isNaN(v.notBefore.getTime()))
        throw new Error('invalid notBefore');
    if (!(v.notAfter instanceof Date) || Number.isNaN(v.notAfter.getTime()))
        throw new Error('invalid notAfter');
    if (v.notAfter <= v.notBefore)
        throw new Error('certificate notAfter must be after notBefore');
}
async function generateKeys() {
    return (await subtle.generateKey(KEY_ALG, true, ['sign', 'verify']));
}
/** Escape a value for an RFC 4514 distinguished-name string. */
function dnValue(v) {
    return v.replace(/([,+"\\<>;=#])/g, '\\$1');
}
export async function createCa(opts) {
    checkValidity(opts);
    const keys = await generateKeys();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serialNumber(),
        name: `CN=${dnValue(`${opts.study} study root CA`)}, O=${dnValue(opts.study)}`,
        notBefore: opts.notBefore,
        notAfter: opts.notAfter,
        keys,
        signingAlgorithm: SIGN_ALG,
        extensions: [
            new x509.BasicConstraintsExtension(true, 0, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
    });
    return { cert, privateKey: keys.privateKey };
}
export async function issueCert(ca, spec, opts) {
    checkValidity(opts);
    const keys = await generateKeys();
    let subject;
    let names;
    let usage;
    if (spec.kind === 'party') {
        if (!PARTY_NAME_RE.test(spec.name))
            throw new Error(`invalid party name "${spec.name}"`);
        subject = `CN=${spec.name}, OU=${spec.role}, O=${dnValue(opts.study)}`;
        names = [{ type: 'url', value: partyUri(spec.role, spec.name) }];
        usage = x509.ExtendedKeyUsage.clientAuth;
    }
    else {
        if (spec.hosts.length === 0)
            throw new Error('server certificate needs at least one host');
        subject = `CN=${dnValue(spec.hosts[0])}, OU=coordinator, O=${dnValue(opts.study)}`;
        names = spec.hosts.map((h) => ({ type: isIP(h) ? 'ip' : 'dns', value: h }));
        usage = x509.ExtendedKeyUsage.serverAuth;
    }
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject,
        issuer: ca.cert.subject,
        notBefore: opts.notBefore,
        notAfter: opts.notAfter,
        publicKey: keys.publicKey,
        signingKey: ca.privateKey,
        signingAlgorithm: SIGN_ALG,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
            new x509.ExtendedKeyUsageExtension([usage], false),
            new x509.SubjectAlternativeNameExtension(names, spec.kind === 'party'),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
            await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
        ],
    });
    return { cert, privateKey: keys.privateKey };
}
export function certPem(c) {
    const cert = c instanceof x509.X509Certificate ? c : c.cert;
    return `${cert.toString('pem')}\n`;
}
export async function privateKeyPem(c) {
    const der = await subtle.exportKey('pkcs8', c.privateKey);
    return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}
/** Re-open a CA from its PEM certificate and PKCS#8 PEM key (as written by provisioning). */
export async function loadCa(certPemText, keyPemText) {
    const cert = new x509.X509Certificate(certPemText);
    const der = x509.PemConverter.decodeFirst(keyPemText);
    const privateKey = await subtle.importKey('pkcs8', der, KEY_ALG, true, ['sign']);
    const probe = new Uint8Array(32);
    const sig = await subtle.sign(SIGN_ALG, privateKey, probe);
    const ok = await subtle.verify(SIGN_ALG, await cert.publicKey.export(), sig, probe);
    if (!ok)
        throw new Error('the CA private key does not match the CA certificate');
    return { cert, privateKey };
}
//# sourceMappingURL=certs.js.map