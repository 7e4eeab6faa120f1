/**
 * Logging: JSON lines by default (journald keeps them whole), or readable text. Components
 * get child loggers; events are a verb and an identity plus structured fields.
 *
 * A few dozen lines instead of winston: the agent writes one stream at one level, and winston
 * with its formats and streams was a fifth of the bundle and about 5 MiB of resident memory
 * (measured by `npm run bench`).
 */
import type { LogFormat, LogLevel } from './config.ts';

/** The logging surface the agent's parts depend on. */
export interface Log {
  error(message: string, fields?: object): void;
  warn(message: string, fields?: object): void;
  info(message: string, fields?: object): void;
  debug(message: string, fields?: object): void;
  child(fields: object): Log;
}

/** Severity order: a logger at level L writes L and everything before it. */
const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** JSON.stringify that never throws: errors as their message, bigints as text, cycles cut. */
export function safeJson(value: unknown): string {
  const replace = (_key: string, v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return { name: v.name, message: v.message };
    return v;
  };
  try {
    return JSON.stringify(value, replace);
  } catch {
    const seen = new WeakSet<object>();
    return JSON.stringify(value, (key, v: unknown) => {
      const r = replace(key, v);
      if (typeof r === 'object' && r !== null) {
        if (seen.has(r)) return '[Circular]';
        seen.add(r);
      }
      return r;
    });
  }
}

/** Characters a terminal acts on: C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides. */
// eslint-disable-next-line no-control-regex
const TERMINAL_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Characters a text-format value of a field is quoted for: controls, spaces, quotes, backslashes, `=`. */
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTES = /[\u0000-\u0020\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"\\=]/;
/** Characters of a text-format field value kept; the rest is cut (a container label can be 64 KiB). */
export const TEXT_VALUE_MAX = 200;

/** Escapes what a terminal would act on as \u.... (text format: labels and tags come from task authors). */
export function escapeControls(text: string): string {
  return text.replace(TERMINAL_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A field value in text format: as it is when plain and short, else JSON-quoted (escaped) and cut at TEXT_VALUE_MAX characters. */
export function textValue(value: unknown): string {
  // Other values are JSON already, which escapes every control character: only their length is checked.
  const text = typeof value === 'string' ? value : safeJson(value) ?? String(value);
  if (text.length <= TEXT_VALUE_MAX && (typeof value !== 'string' || !NEEDS_QUOTES.test(text))) return escapeControls(text);
  const cut = text.length > TEXT_VALUE_MAX ? `${text.slice(0, TEXT_VALUE_MAX)}…(${text.length} characters)` : text;
  return escapeControls(JSON.stringify(cut));
}

/** One line: JSON `{"level","message",...fields,"timestamp"}`, or `TIMESTAMP LEVEL message key=value...` with controls escaped. */
export function formatLine(format: LogFormat, level: LogLevel, message: string, fields: object, timestamp: string): string {
  if (format === 'json') return safeJson({ ...fields, level, message, timestamp });
  const pairs = Object.entries(fields)
    .map(([k, v]) => `${escapeControls(k)}=${textValue(v)}`)
    .join(' ');
  return `${timestamp} ${level.toUpperCase()} ${escapeControls(message)}${pairs ? ` ${pairs}` : ''}`;
}

class LineLogger implements Log {
  private readonly write: (level: LogLevel, message: string, fields: object) => void;
  private readonly fields: object;

  constructor(write: (level: LogLevel, message: string, fields: object) => void, fields: object) {
    this.write = write;
    this.fields = fields;
  }

  error(message: string, fields?: object): void {
    this.write('error', message, fields ? { ...this.fields, ...fields } : this.fields);
  }

  warn(message: string, fields?: object): void {
    this.write('warn', message, fields ? { ...this.fields, ...fields } : this.fields);
  }

  info(message: string, fields?: object): void {
    this.write('info', message, fields ? { ...this.fields, ...fields } : this.fields);
  }

  debug(message: string, fields?: object): void {
    this.write('debug', message, fields ? { ...this.fields, ...fields } : this.fields);
  }

  child(fields: object): Log {
    return new LineLogger(this.write, { ...this.fields, ...fields });
  }
}

/** Builds the process logger, writing to stdout (or stderr for command output that must stay clean). */
export function createLogger(options: { format: LogFormat; level: LogLevel; stream?: NodeJS.WritableStream }): Log {
  const stream = options.stream ?? process.stdout;
  const most = SEVERITY[options.level];
  return new LineLogger((level, message, fields) => {
    if (SEVERITY[level] > most) return;
    stream.write(`${formatLine(options.format, level, message, fields, new Date().toISOString())}\n`);
  }, {});
}
