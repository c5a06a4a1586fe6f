// `npm run bench [-- NAME ...]`: runs the named benchmarks (all when none are named).
import { benches } from './index.js';

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const unknown = wanted.filter((w) => !benches.some((b) => b.name === w));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark(s) ${unknown.join(', ')}; available: ${benches.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const selected = wanted.length === 0 ? benches : benches.filter((b) => wanted.includes(b.name));
for (const b of selected) {
  console.log(`\n== ${b.name}: ${b.description}`);
  await b.run(extra);
}
