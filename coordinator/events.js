// Study events: an in-process bus that the CLI progress display, the dashboard and the NATS
// publisher subscribe to. Events are notifications; the durable record is the study log.
import { EventEmitter } from 'node:events';
export class EventBus {
    emitter = new EventEmitter();
    constructor() {
        this.emitter.setMaxListeners(100);
    }
    publish(event) {
        this.emitter.emit('event', { ...event, time: Date.now() });
    }
    subscribe(listener) {
        this.emitter.on('event', listener);
        return () => this.emitter.off('event', listener);
    }
}
//# sourceMappingURL=events.js.map