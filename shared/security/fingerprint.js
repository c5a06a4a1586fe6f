// Certificate fingerprints (SHA-256 of the DER bytes) and the deny list of revoked parties.
//
// Canonical form: 64 lowercase hex digits. Input may use colons and any case, as printed by
// `openssl x509 -fingerprint -sha256` or Node's `fingerprint256`.
import { createHash } from 'node:crypto';
/** SHA-256 over the DER certificate, lowercase hex without separators (the deny-list format). */
export function certFingerprint(der) {
    return createHash('sha256').update(new Uint8Array(der)).digest('hex');
}
export function normaliseFingerprint(input) {
    const hex = input.trim().replace(/^sha256(?:\s+fingerprint)?\s*[=:]\s*/i, '').replace(/:/g, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) {
        throw new Error(`"${input}" is not a SHA-256 certificate fingerprint (64 hex digits, colons optional)`);
    }
    return hex;
}
/** Revoked certificate fingerprints. Mutable so a running coordinator can reload its config. */
export class DenyList {
    set = new Set();
    constructor(fingerprints = []) {
        this.replace(fingerprints);
    }
    /** Atomically replace the whole list (validates every entry first). */
    replace(fingerprints) {
        const next = [...fingerprints].map(normaliseFingerprint);
        this.set.clear();
        for (const fp of next)
            this.set.add(fp);
    }
    add(fingerprint) {
        this.set.add(normaliseFingerprint(fingerprint));
    }
    has(fingerprint) {
        return this.set.has(fingerprint.replace(/:/g, '').toLowerCase());
    }
    get size() {
        return this.set.size;
    }
}
//# sourceMappingURL=fingerprint.js.map