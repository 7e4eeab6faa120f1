/**
 * Logging: winston, JSON lines by default (journald keeps them whole), or readable text.
 * Components get child loggers; events are a verb and an identity plus structured fields.
 */
import winston from 'winston';
import type { LogFormat, LogLevel } from './config.ts';

/** The logging surface the agent's parts depend on (winston's Logger satisfies it). */
export interface Log {
  error(message: string, fields?: object): void;
  warn(message: string, fields?: object): void;
  info(message: string, fields?: object): void;
  debug(message: string, fields?: object): void;
  child(fields: object): Log;
}

/** Builds the process logger, writing to stdout (or stderr for command output that must stay clean). */
export function createLogger(options: { format: LogFormat; level: LogLevel; stream?: NodeJS.WritableStream }): Log {
  const { combine, timestamp, json, printf } = winston.format;
  const text = printf((info) => {
    const { level, message, timestamp: ts, ...rest } = info;
    const fields = Object.entries(rest)
      .filter(([k]) => typeof k === 'string')
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${String(ts)} ${level.toUpperCase()} ${String(message)}${fields ? ` ${fields}` : ''}`;
  });
  return winston.createLogger({
    level: options.level,
    format: combine(timestamp(), options.format === 'json' ? json() : text),
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
  });
}
