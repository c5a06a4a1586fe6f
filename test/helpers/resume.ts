// Shared by the resumable-upload tests (test/round-trip.test.ts: bytes on the gRPC call;
// test/bulk-channel.test.ts: bytes on the bulk channel): waiting for the coordinator to hold
// verified blocks, and what a resume must satisfy.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { partialState } from '../../coordinator/update-receiver.js';

const MiB = 1 << 20;

/**
 * Waits until `site`'s upload under `dataDir` holds at least `n` verified 1 MiB blocks (as
 * UploadStatus would report them); returns the count seen.
 */
export async function waitForBlocks(dataDir: string, site: string, n: number, timeoutMs = 60_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const f of readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).filter((x) => x.endsWith('.flt.blocks'))) {
      const st = await partialState(join(dataDir, f.slice(0, -'.blocks'.length)));
      if (st && st.site === site && st.bytes >= n << 20) return st.bytes >> 20;
    }
    if (Date.now() > until) throw new Error(`no upload of ${site} under ${dataDir} reached ${n} verified blocks within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A resumed upload: the site resumed once, at a block boundary no lower than the blocks seen
 * verified before the cut (`blocks`) and no higher than what had been forwarded; after the cut only
 * the rest crossed (`after` bytes: the remaining bytes plus framing, under 1 MiB), not a restart.
 */
export function expectResumedOnce(o: { resumed: readonly number[]; blocks: number; forwarded: number; update: number; after: number }): void {
  expect(o.resumed.length, JSON.stringify({ forwarded: o.forwarded, blocks: o.blocks, resumed: o.resumed })).toBe(1);
  const kept = o.resumed[0]!;
  expect(kept % MiB).toBe(0);
  expect(kept / MiB).toBeGreaterThanOrEqual(o.blocks);
  expect(kept).toBeLessThanOrEqual(o.forwarded);
  expect(o.after).toBeGreaterThanOrEqual(o.update - kept);
  expect(o.after).toBeLessThan(o.update - kept + MiB);
}
