import winston from 'winston';

export type Logger = winston.Logger;

/** Field names whose values never reach a log line (DESIGN §9: secrets redacted, no document text). */
const REDACTED = /pass(word)?|secret|token|api[-_]?key|authorization|cookie|^text$|^body$/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) if (REDACTED.test(key)) info[key] = '[redacted]';
  return info;
});

export interface LoggerOptions {
  readonly service: string;
  readonly level: 'error' | 'warn' | 'info' | 'debug' | 'silent';
  readonly format: 'json' | 'pretty';
}

/** One root logger per process; jobs get children with job_id, stage and attempt. */
export function createLogger(options: LoggerOptions): Logger {
  return winston.createLogger({
    level: options.level === 'silent' ? 'error' : options.level,
    silent: options.level === 'silent',
    defaultMeta: { service: options.service },
    format: winston.format.combine(
      redact(),
      winston.format.timestamp(),
      options.format === 'json' ? winston.format.json() : winston.format.combine(winston.format.colorize(), winston.format.simple()),
    ),
    // stderr, so CLI output on stdout stays machine-readable.
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
  });
}
