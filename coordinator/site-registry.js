export class SiteRegistry {
    sessions = new Map();
    info = new Map();
    listeners = new Set();
    /** Registers a session; an older session of the same site is closed (the newest wins). */
    connect(session) {
        const old = this.sessions.get(session.site);
        if (old && old !== session)
            old.close('replaced by a newer session from the same site');
        this.sessions.set(session.site, session);
        this.info.set(session.site, {
            site: session.site, connected: true, backend: session.backend, lastSeen: Date.now(),
            fingerprint: session.fingerprint, publicKey: session.publicKey ?? null, cohortCounts: session.cohortCounts,
        });
        for (const l of this.listeners)
            l(session.site, true, 'connected');
    }
    disconnect(session, reason) {
        if (this.sessions.get(session.site) !== session)
            return; // a newer session took over
        this.sessions.delete(session.site);
        const i = this.info.get(session.site);
        if (i) {
            i.connected = false;
            i.lastSeen = Date.now();
        }
        for (const l of this.listeners)
            l(session.site, false, reason);
    }
    touch(site) {
        const i = this.info.get(site);
        if (i)
            i.lastSeen = Date.now();
    }
    connectedSites() {
        return [...this.sessions.keys()].sort();
    }
    isConnected(site) {
        return this.sessions.has(site);
    }
    send(site, message) {
        const s = this.sessions.get(site);
        if (!s)
            return false;
        s.send(message);
        return true;
    }
    all() {
        return [...this.info.values()].sort((a, b) => a.site.localeCompare(b.site));
    }
    onChange(listener) {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }
    closeAll(reason) {
        for (const s of [...this.sessions.values()])
            s.close(reason);
    }
}
//# sourceMappingURL=site-registry.js.map