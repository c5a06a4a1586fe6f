// A counting semaphore bounding concurrent model transfers, so the coordinator's transfer
// buffers stay bounded however many sites download or upload at the same moment (the others
// wait in line, held back by HTTP/2 flow control).
export class TransferSlots {
    limit;
    active = 0;
    waiting = [];
    constructor(limit) {
        this.limit = limit;
        if (!Number.isInteger(limit) || limit < 1)
            throw new Error(`transfer slots: limit must be a positive integer, got ${limit}`);
    }
    async acquire() {
        if (this.active >= this.limit)
            await new Promise((r) => this.waiting.push(r));
        this.active++;
        let released = false;
        return () => {
            if (released)
                return;
            released = true;
            this.active--;
            this.waiting.shift()?.();
        };
    }
}
//# sourceMappingURL=transfer-slots.js.map