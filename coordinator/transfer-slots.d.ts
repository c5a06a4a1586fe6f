export declare class TransferSlots {
    readonly limit: number;
    private active;
    private readonly waiting;
    constructor(limit: number);
    acquire(): Promise<() => void>;
}
