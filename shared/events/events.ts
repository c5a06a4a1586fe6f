// Study events: an in-process bus that the CLI progress display, the dashboard and the NATS
// publisher subscribe to. Events are notifications; the durable record is the study log.
// Their NATS subjects and stream are in ./subjects.ts.
import { EventEmitter } from 'node:events';

export type StudyEvent =
  | { type: 'site_connected'; site: string; backend: string }
  | { type: 'site_disconnected'; site: string; reason: string }
  | { type: 'round_started'; round: number; participants: string[]; deadline: number }
  | { type: 'task_progress'; round: number; site: string; state: string; progress: number; message: string }
  | { type: 'update_accepted'; round: number; model: string; site: string; numExamples: number; digest: string; metrics: Record<string, number> }
  | { type: 'update_rejected'; round: number; model: string; site: string; reason: string }
  | { type: 'site_dropped'; round: number; site: string; reason: string }
  | { type: 'round_completed'; round: number; state: RoundState; sites: string[]; metrics: Record<string, Record<string, number>>; digests: Record<string, string> }
  | { type: 'round_failed'; round: number; reason: string }
  | { type: 'study_completed'; rounds: number }
  | { type: 'study_failed'; reason: string }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  /** A site's answer to a co-signing request of the study log (ok, or refused with its reason). */
  | { type: 'cosignature'; site: string; ok: boolean; treeSize?: number; reason?: string }
  /** Payload bytes of a finished model download (coordinator -> site). */
  | { type: 'transfer'; direction: 'download' | 'upload'; site: string; model: string; bytes: number };

export type RoundState = 'completed' | 'completed_without_some_sites' | 'failed';

export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(100);
  }
  publish(event: StudyEvent): void {
    this.emitter.emit('event', { ...event, time: Date.now() });
  }
  subscribe(listener: (event: StudyEvent & { time: number }) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
