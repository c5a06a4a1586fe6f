// Structured logging (pino) to stderr, so stdout stays free for command output and --json.
// On a terminal the lines are human-readable (pino-pretty); piped or with FL_LOG_FORMAT=json they
// stay one JSON object per line for journald and log shippers. FL_LOG_FORMAT=pretty forces colour-
// less readable lines everywhere.
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

export function logFormat(env: NodeJS.ProcessEnv = process.env, isTty = Boolean(process.stderr.isTTY)): 'json' | 'pretty' {
  const f = env.FL_LOG_FORMAT;
  if (f === 'json' || f === 'pretty') return f;
  return isTty ? 'pretty' : 'json';
}

export function createLogger(name: string, level: string = process.env.FL_LOG_LEVEL ?? 'info'): Logger {
  if (logFormat() === 'pretty') {
    const stream = PinoPretty({ destination: 2, sync: true, colorize: Boolean(process.stderr.isTTY), ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' });
    return pino({ name, level, base: { pid: process.pid } }, stream);
  }
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
