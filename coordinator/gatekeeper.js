import { authorize, assertClaimedSite } from '../shared/security/identity.js';
import { X509Certificate } from 'node:crypto';
function certPublicKey(call) {
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    if (!raw)
        return null;
    try {
        return new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    }
    catch {
        return null;
    }
}
export function mtlsGatekeeper(deny, log) {
    return {
        secure: true,
        site(call, claimed, method) {
            const id = authorize(call, { roles: ['site'], deny, log, method });
            assertClaimedSite(id, claimed, log);
            return { name: id.name, fingerprint: id.fingerprint, publicKey: certPublicKey(call) };
        },
        admin(call, method) {
            const id = authorize(call, { roles: ['admin'], deny, log, method });
            return { name: id.name, fingerprint: id.fingerprint };
        },
    };
}
export function insecureGatekeeper() {
    return {
        secure: false,
        site: (_call, claimed) => ({ name: claimed, fingerprint: null }),
        admin: () => ({ name: 'admin', fingerprint: null }),
    };
}
//# sourceMappingURL=gatekeeper.js.map