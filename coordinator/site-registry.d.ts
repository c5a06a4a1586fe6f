import type { CoordinatorMessage } from '../shared/protocol/index.js';
export interface SiteSession {
    readonly site: string;
    readonly backend: string;
    readonly fingerprint: string | null;
    /** Base64 DER SPKI of the site's certificate key (mTLS only). */
    readonly publicKey?: string | null;
    readonly cohortCounts: Record<string, number>;
    send(message: CoordinatorMessage): void;
    close(reason: string): void;
}
export interface SiteInfo {
    readonly site: string;
    connected: boolean;
    backend: string;
    lastSeen: number;
    fingerprint: string | null;
    publicKey: string | null;
    cohortCounts: Record<string, number>;
}
type Listener = (site: string, connected: boolean, reason: string) => void;
export declare class SiteRegistry {
    private readonly sessions;
    private readonly info;
    private readonly listeners;
    /** Registers a session; an older session of the same site is closed (the newest wins). */
    connect(session: SiteSession): void;
    disconnect(session: SiteSession, reason: string): void;
    touch(site: string): void;
    connectedSites(): string[];
    isConnected(site: string): boolean;
    send(site: string, message: CoordinatorMessage): boolean;
    all(): SiteInfo[];
    onChange(listener: Listener): () => void;
    closeAll(reason: string): void;
}
export {};
