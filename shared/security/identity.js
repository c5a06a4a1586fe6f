// Who is calling: the party identity taken from the verified TLS client certificate, never from
// a message field. A party certificate carries exactly one SAN URI `fl://<site|admin>/<name>`
// and the same name as subject CN (see certs.ts). Revocation is a deny list of certificate
// SHA-256 fingerprints; expiry and the issuing CA are enforced by the TLS handshake itself.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { PARTY_NAME_RE } from './certs.js';
import { certFingerprint } from './fingerprint.js';
import { PermissionDeniedError, UnauthenticatedError } from './grpc-errors.js';
const URI_RE = /^fl:\/\/(site|admin)\/([^/?#]+)$/;
const CACHE_LIMIT = 1024;
const cache = new Map();
function parseCertificate(raw) {
    let cert;
    try {
        cert = new x509.X509Certificate(raw);
    }
    catch {
        return 'the client certificate cannot be parsed';
    }
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const uris = (san?.names.items ?? []).filter((n) => n.type === 'url').map((n) => n.value);
    const party = uris.filter((u) => u.startsWith('fl://'));
    if (party.length !== 1) {
        return party.length === 0
            ? 'the client certificate names no party (no fl://site/… or fl://admin/… SAN URI)'
            : 'the client certificate names more than one party';
    }
    const m = URI_RE.exec(party[0]);
    if (!m || !PARTY_NAME_RE.test(m[2]))
        return `the client certificate has a malformed party URI "${party[0]}"`;
    const cn = cert.subjectName.getField('CN');
    if (cn.length !== 1 || cn[0] !== m[2])
        return `the client certificate CN does not match its party URI "${party[0]}"`;
    return { role: m[1], name: m[2], notAfter: cert.notAfter };
}
/**
 * The authenticated party behind a server call. Throws UnauthenticatedError (gRPC
 * UNAUTHENTICATED) when the call did not come over mutual TLS with a party certificate.
 */
export function peerIdentity(call) {
    const auth = call.getAuthContext();
    const peer = auth?.sslPeerCertificate;
    if (auth?.transportSecurityType !== 'ssl' || !peer?.raw) {
        throw new UnauthenticatedError('mutual TLS required: the call carries no verified client certificate');
    }
    const fingerprint = certFingerprint(peer.raw);
    let parsed = cache.get(fingerprint);
    if (parsed === undefined) {
        parsed = parseCertificate(peer.raw);
        if (cache.size >= CACHE_LIMIT)
            cache.delete(cache.keys().next().value);
        cache.set(fingerprint, parsed);
    }
    if (typeof parsed === 'string')
        throw new UnauthenticatedError(parsed);
    return { ...parsed, fingerprint };
}
/** Throws PermissionDeniedError unless the identity has one of the roles. */
export function requireRole(identity, ...roles) {
    if (!roles.includes(identity.role)) {
        throw new PermissionDeniedError(`${identity.role} "${identity.name}" may not call this method (requires an ${roles.join(' or ')} certificate)`);
    }
    return identity;
}
/**
 * Identity + revocation + role check in one call, logging each refusal:
 * `const who = authorize(call, { roles: ['admin'], deny, log, method: 'StartRound' })`.
 */
export function authorize(call, policy = {}) {
    let identity;
    try {
        identity = peerIdentity(call);
    }
    catch (err) {
        policy.log?.warn({ method: policy.method, reason: err.message }, 'refused unauthenticated call');
        throw err;
    }
    if (policy.deny?.has(identity.fingerprint)) {
        policy.log?.warn({ method: policy.method, role: identity.role, name: identity.name, fingerprint: identity.fingerprint }, 'refused call from revoked certificate');
        throw new UnauthenticatedError(`the certificate of ${identity.role} "${identity.name}" has been revoked`);
    }
    if (policy.roles && policy.roles.length > 0) {
        try {
            requireRole(identity, ...policy.roles);
        }
        catch (err) {
            policy.log?.warn({ method: policy.method, role: identity.role, name: identity.name }, 'refused call: wrong role');
            throw err;
        }
    }
    return identity;
}
/**
 * A message field naming a site (e.g. `site_id`) must name the caller itself. A mismatch is an
 * impersonation attempt: logged and refused with PERMISSION_DENIED.
 */
export function assertClaimedSite(identity, claimed, log, field = 'site_id') {
    if (identity.role !== 'site' || claimed !== identity.name) {
        log?.warn({ role: identity.role, name: identity.name, fingerprint: identity.fingerprint, claimed, field }, 'refused message claiming another party');
        throw new PermissionDeniedError(`${identity.role} "${identity.name}" sent a message claiming ${field} "${claimed}"; identity comes from the certificate`);
    }
}
//# sourceMappingURL=identity.js.map