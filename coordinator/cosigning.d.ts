import type { Logger } from 'pino';
import type { StudyLog } from '../shared/audit/study-log.js';
import type { KeyObject } from 'node:crypto';
import type { CosignResponse } from '../shared/protocol/index.js';
import type { SiteRegistry } from './site-registry.js';
export declare class Cosigning {
    private readonly studyLog;
    private readonly sites;
    private readonly log;
    private readonly lastSize;
    private readonly pem;
    constructor(studyLog: StudyLog, signingKey: KeyObject, sites: SiteRegistry, log: Logger);
    /** Sends the current head to these sites. */
    request(siteNames: readonly string[]): void;
    private send;
    /** A site's answer on its session stream. */
    receive(site: string, r: CosignResponse): Promise<void>;
}
