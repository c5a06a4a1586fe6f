import { describe as suite, it, expect } from 'vitest';
import { alternate, median, ratio } from './harness.js';

suite('bench harness', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });
  it('alternates the variants, rotating the order each pass', async () => {
    const order: string[] = [];
    const mk = (name: string, value: number) => ({ name, run: async () => (order.push(name), value) });
    const s = await alternate([mk('a', 1), mk('b', 2)], 3, 0);
    expect(order).toEqual(['a', 'b', 'b', 'a', 'a', 'b']);
    expect(s.map((x) => x.median)).toEqual([1, 2]);
    expect(ratio(s[1]!, s[0]!).value).toBe(2);
  });
});
