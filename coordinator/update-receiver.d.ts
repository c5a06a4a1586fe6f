import type { UploadMessage, UpdateHeader } from '../shared/protocol/index.js';
import { type TensorInfo } from '../shared/tensor/tensor-set.js';
/** What the round engine says about an announced update before any byte is read. */
export interface Admission {
    readonly round: number;
    readonly model: string;
    readonly site: string;
    readonly spec: readonly TensorInfo[];
    readonly spoolPath: string;
}
export interface ReceivedUpdate {
    readonly header: UpdateHeader;
    readonly infos: TensorInfo[];
    readonly digest: string;
    readonly path: string;
    readonly bytes: number;
}
/**
 * Reads an upload stream. `admit` validates the header against the round (throws a RejectError
 * otherwise). Returns the verified update spooled at `admission.spoolPath`.
 */
export declare function receiveUpload(messages: AsyncIterable<UploadMessage>, admit: (header: UpdateHeader) => Admission): Promise<{
    admission: Admission;
    update: ReceivedUpdate;
}>;
/** What an interrupted upload left: verified bytes (whole blocks) and their hashes; null when none. */
export declare function partialState(spoolPath: string, expectedHead?: Buffer): Promise<{
    bytes: number;
    hashes: string[];
    site: string | null;
} | null>;
