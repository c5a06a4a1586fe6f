import { publicKeyPem } from '../shared/audit/keys.js';
export class Cosigning {
    studyLog;
    sites;
    log;
    lastSize = new Map();
    pem;
    constructor(studyLog, signingKey, sites, log) {
        this.studyLog = studyLog;
        this.sites = sites;
        this.log = log;
        this.pem = publicKeyPem(signingKey);
    }
    /** Sends the current head to these sites. */
    request(siteNames) {
        const head = this.studyLog.treeHead();
        if (!head)
            return;
        for (const site of siteNames)
            this.send(site, head, this.lastSize.get(site));
    }
    send(site, head, from) {
        const proof = from !== undefined && from > 0 && from < head.tree_size ? this.studyLog.consistencyProof(from, head.tree_size) : null;
        this.sites.send(site, {
            msg: { $case: 'cosign', value: { headJson: JSON.stringify(head), proofJson: proof ? JSON.stringify(proof) : '', coordinatorPublicKey: this.pem } },
        });
    }
    /** A site's answer on its session stream. */
    async receive(site, r) {
        if (r.error) {
            const head = this.studyLog.treeHead();
            if (r.lastSize > 0 && head && !this.lastSize.has(site) && r.lastSize <= head.tree_size) {
                this.lastSize.set(site, r.lastSize); // retry once with the proof from the size the site holds
                this.send(site, head, r.lastSize);
                return;
            }
            this.log.warn({ site, reason: r.error }, 'site refused to co-sign the study log');
            return;
        }
        try {
            const head = JSON.parse(r.headJson);
            await this.studyLog.addCosignature(site, head, r.signature);
            this.lastSize.set(site, head.tree_size);
            this.log.info({ site, treeSize: head.tree_size }, 'study log co-signed');
        }
        catch (err) {
            this.log.warn({ site, err: err.message }, 'co-signature not accepted');
        }
    }
}
//# sourceMappingURL=cosigning.js.map