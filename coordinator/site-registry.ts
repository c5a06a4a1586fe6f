// Sites known to the coordinator and their live session streams.
import type { CoordinatorMessage } from '../shared/protocol/index.js';

export interface SiteSession {
  readonly site: string;
  readonly backend: string;
  readonly fingerprint: string | null;
  /** Base64 DER SPKI of the site's certificate key (mTLS only). */
  readonly publicKey?: string | null;
  readonly cohortCounts: Record<string, number>;
  /** Base64 DER certificate and the signature over the site's join declaration (mTLS only). */
  readonly certificate?: string | null;
  readonly joinSignature?: string;
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
  certificate: string | null;
  joinSignature: string;
}

type Listener = (site: string, connected: boolean, reason: string) => void;

export class SiteRegistry {
  private readonly sessions = new Map<string, SiteSession>();
  private readonly info = new Map<string, SiteInfo>();
  private readonly listeners = new Set<Listener>();

  /** Registers a session; an older session of the same site is closed (the newest wins). */
  connect(session: SiteSession): void {
    const old = this.sessions.get(session.site);
    // The newer session is registered first, so closing the old one is not a disconnect of the
    // site (no grace timer, no drop): the site stays connected throughout.
    this.sessions.set(session.site, session);
    if (old && old !== session) old.close('replaced by a newer session from the same site');
    this.info.set(session.site, {
      site: session.site, connected: true, backend: session.backend, lastSeen: Date.now(),
      fingerprint: session.fingerprint, publicKey: session.publicKey ?? null, cohortCounts: session.cohortCounts,
      certificate: session.certificate ?? null, joinSignature: session.joinSignature ?? '',
    });
    for (const l of this.listeners) l(session.site, true, 'connected');
  }

  disconnect(session: SiteSession, reason: string): void {
    if (this.sessions.get(session.site) !== session) return; // a newer session took over
    this.sessions.delete(session.site);
    const i = this.info.get(session.site);
    if (i) {
      i.connected = false;
      i.lastSeen = Date.now();
    }
    for (const l of this.listeners) l(session.site, false, reason);
  }

  touch(site: string): void {
    const i = this.info.get(site);
    if (i) i.lastSeen = Date.now();
  }

  connectedSites(): string[] {
    return [...this.sessions.keys()].sort();
  }

  /**
   * The connected sites and those that dropped less than `graceMs` ago (they are expected back
   * within the reconnect grace period: a socket that blipped as a phase began must not leave its
   * site out of that phase). Sorted by name.
   */
  reachableSites(graceMs: number, now = Date.now()): string[] {
    const away = [...this.info.values()].filter((i) => !this.sessions.has(i.site) && now - i.lastSeen < graceMs).map((i) => i.site);
    return [...this.sessions.keys(), ...away].sort();
  }

  isConnected(site: string): boolean {
    return this.sessions.has(site);
  }

  send(site: string, message: CoordinatorMessage): boolean {
    const s = this.sessions.get(site);
    if (!s) return false;
    s.send(message);
    return true;
  }

  all(): SiteInfo[] {
    return [...this.info.values()].sort((a, b) => a.site.localeCompare(b.site));
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Closes the open sessions whose certificate is now revoked (after the revocation list was
   * reloaded): the site is told why, and its reconnection is refused at the gate. Returns their sites.
   */
  closeRevoked(isRevoked: (fingerprint: string) => boolean): string[] {
    const closed: string[] = [];
    for (const s of [...this.sessions.values()]) {
      if (s.fingerprint && isRevoked(s.fingerprint)) {
        closed.push(s.site);
        s.close(`site "${s.site}": certificate ${s.fingerprint.slice(0, 16)}… was revoked by the study team; ask for a new startup kit`);
      }
    }
    return closed;
  }

  closeAll(reason: string): void {
    for (const s of [...this.sessions.values()]) s.close(reason);
  }
}
