// What the dashboard shows beyond `fl status`: each site's current task and progress, the learning
// curves (one point per completed round and model), refusals and warnings, and the co-signature
// status of the study log. Built only from the coordinator's EventBus (a read-only view) and
// bounded in memory: the curves have one point per round, the notices keep the last MAX_NOTICES.
import type { EventBus, StudyEvent } from '../../shared/events/events.js';

export const MAX_NOTICES = 200;

export interface SiteActivity {
  /** Last task state reported by the site (running, done, failed), '' before any. */
  state: string;
  /** 0..1 within the current task. */
  progress: number;
  message: string;
  round: number;
  updated: number;
}

export interface Notice {
  readonly time: number;
  readonly level: 'warn' | 'error' | 'info';
  readonly kind: string;
  readonly site?: string;
  readonly round?: number;
  readonly message: string;
}

export interface CurvePoint {
  readonly round: number;
  readonly metrics: Record<string, number>;
}

export interface CosignStatus {
  ok: boolean;
  treeSize?: number;
  reason?: string;
  time: number;
}

export interface LiveSnapshot {
  readonly activity: Record<string, SiteActivity>;
  /** model -> points in round order. */
  readonly curves: Record<string, CurvePoint[]>;
  readonly notices: Notice[];
  readonly cosignatures: Record<string, CosignStatus>;
  readonly ended: { state: string; reason?: string } | null;
}

export class LiveView {
  private readonly activity = new Map<string, SiteActivity>();
  private readonly curves = new Map<string, Map<number, Record<string, number>>>();
  private readonly notices: Notice[] = [];
  private readonly cosign = new Map<string, CosignStatus>();
  private ended: LiveSnapshot['ended'] = null;
  private readonly unsubscribe: () => void;

  constructor(events: EventBus, initialRounds: readonly { round: number; metrics: Record<string, number> }[] = []) {
    // Rounds finished before this view started (a resumed study): metrics are "model.metric".
    for (const r of initialRounds) {
      for (const [key, value] of Object.entries(r.metrics)) {
        const dot = key.indexOf('.');
        if (dot < 0) continue;
        this.point(key.slice(0, dot), r.round)[key.slice(dot + 1)] = value;
      }
    }
    this.unsubscribe = events.subscribe((e) => this.apply(e));
  }

  close(): void {
    this.unsubscribe();
  }

  private point(model: string, round: number): Record<string, number> {
    let m = this.curves.get(model);
    if (!m) this.curves.set(model, (m = new Map()));
    let p = m.get(round);
    if (!p) m.set(round, (p = {}));
    return p;
  }

  private notice(n: Notice): void {
    this.notices.push(n);
    if (this.notices.length > MAX_NOTICES) this.notices.splice(0, this.notices.length - MAX_NOTICES);
  }

  apply(e: StudyEvent & { time: number }): void {
    switch (e.type) {
      case 'round_started':
        for (const s of e.participants) this.activity.set(s, { state: 'assigned', progress: 0, message: `round ${e.round} task sent`, round: e.round, updated: e.time });
        break;
      case 'task_progress':
        this.activity.set(e.site, { state: e.state, progress: e.progress, message: e.message, round: e.round, updated: e.time });
        break;
      case 'site_disconnected': {
        const a = this.activity.get(e.site);
        if (a) Object.assign(a, { state: 'disconnected', message: e.reason, updated: e.time });
        break;
      }
      case 'round_completed':
        for (const [model, metrics] of Object.entries(e.metrics)) Object.assign(this.point(model, e.round), metrics);
        break;
      case 'update_rejected':
        this.notice({ time: e.time, level: 'warn', kind: 'update refused', site: e.site, round: e.round, message: `${e.model ? `${e.model}: ` : ''}${e.reason}` });
        break;
      case 'site_dropped':
        this.notice({ time: e.time, level: 'warn', kind: 'site left out', site: e.site, round: e.round, message: e.reason });
        break;
      case 'round_failed':
        this.notice({ time: e.time, level: 'error', kind: 'round failed', round: e.round, message: e.reason });
        break;
      case 'study_failed':
        this.ended = { state: 'failed', reason: e.reason };
        this.notice({ time: e.time, level: 'error', kind: 'study failed', message: e.reason });
        break;
      case 'study_completed':
        this.ended = { state: 'completed' };
        break;
      case 'log':
        if (e.level === 'warn') this.notice({ time: e.time, level: 'warn', kind: 'warning', message: e.message });
        break;
      case 'cosignature':
        this.cosign.set(e.site, { ok: e.ok, time: e.time, ...(e.treeSize !== undefined ? { treeSize: e.treeSize } : {}), ...(e.reason ? { reason: e.reason } : {}) });
        if (!e.ok) this.notice({ time: e.time, level: 'error', kind: 'co-signature refused', site: e.site, message: e.reason ?? 'refused' });
        break;
      default:
        break;
    }
  }

  snapshot(): LiveSnapshot {
    return {
      activity: Object.fromEntries([...this.activity].map(([k, v]) => [k, { ...v }])),
      curves: Object.fromEntries([...this.curves].map(([model, pts]) => [
        model, [...pts].sort((a, b) => a[0] - b[0]).map(([round, metrics]) => ({ round, metrics: { ...metrics } })),
      ])),
      notices: [...this.notices],
      cosignatures: Object.fromEntries([...this.cosign].map(([k, v]) => [k, { ...v }])),
      ended: this.ended,
    };
  }
}
