/** SHA-256 over the DER certificate, lowercase hex without separators (the deny-list format). */
export declare function certFingerprint(der: Uint8Array | ArrayBuffer): string;
export declare function normaliseFingerprint(input: string): string;
/** Revoked certificate fingerprints. Mutable so a running coordinator can reload its config. */
export declare class DenyList {
    private readonly set;
    constructor(fingerprints?: Iterable<string>);
    /** Atomically replace the whole list (validates every entry first). */
    replace(fingerprints: Iterable<string>): void;
    add(fingerprint: string): void;
    has(fingerprint: string): boolean;
    get size(): number;
}
