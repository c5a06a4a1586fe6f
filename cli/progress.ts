// Human-readable progress of a study from its events (stderr, so stdout stays machine-readable).
import type { EventBus } from '../shared/events/events.js';
import type { StudyConfig } from '../shared/config/study.js';

const fmt = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

export function attachProgress(events: EventBus, opts: { study: StudyConfig; quiet?: boolean; write?: (line: string) => void }): () => void {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  if (opts.quiet) return () => {};
  const models = opts.study.models.map((m) => m.name);
  let roundStart = 0;
  let participants: string[] = [];
  const doneSites = new Map<string, Set<string>>();
  return events.subscribe((e) => {
    switch (e.type) {
      case 'site_connected':
        write(`  site ${e.site} connected (backend ${e.backend})`);
        break;
      case 'site_disconnected':
        write(`  site ${e.site} disconnected: ${e.reason}`);
        break;
      case 'round_started':
        roundStart = e.time;
        participants = e.participants;
        doneSites.clear();
        write(`round ${e.round}/${opts.study.rounds}: ${e.participants.length} sites (${e.participants.join(', ')}), training ${models.join(', ')}`);
        break;
      case 'update_accepted': {
        const s = doneSites.get(e.site) ?? new Set();
        s.add(e.model);
        doneSites.set(e.site, s);
        const complete = [...doneSites.values()].filter((x) => x.size === models.length).length;
        write(`  [${complete}/${participants.length} sites done] ${e.site} ${e.model}: n=${e.numExamples} loss=${fmt(e.metrics.train_loss)} val_auc=${fmt(e.metrics.val_auc)}`);
        break;
      }
      case 'update_rejected':
        write(`  rejected update from ${e.site}${e.model ? ` (${e.model})` : ''}: ${e.reason}`);
        break;
      case 'site_dropped':
        write(`  ${e.site} left out of round ${e.round}: ${e.reason}`);
        break;
      case 'round_completed': {
        const secs = ((e.time - roundStart) / 1000).toFixed(1);
        const parts = Object.entries(e.metrics).map(([m, x]) => `${m} loss=${fmt(x.train_loss)} val_auc=${fmt(x.val_auc)}`);
        write(`round ${e.round} ${e.state.replaceAll('_', ' ')} in ${secs}s: ${parts.join('; ')}`);
        break;
      }
      case 'round_failed':
        write(`round ${e.round} FAILED: ${e.reason}`);
        break;
      case 'log':
        write(`  ${e.message}`);
        break;
      default:
        break;
    }
  });
}
