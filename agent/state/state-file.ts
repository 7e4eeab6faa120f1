/**
 * What a state file's text holds: a usable state, or why not and which target records can
 * still be read from it. Pure, so the classification is tested as a table. Tolerant where
 * that is safe: fields this version does not know are kept (a newer agent's, or another
 * part's), missing lists are empty; strict where a wrong value could claim a target that is
 * not this host's: every record must be a target group ARN, an IPv4 address and a port.
 */
import { isTargetGroupArn } from '../core/arn.ts';
import { parseIpv4 } from '../core/ipv4.ts';
import { STATE_VERSION, type AgentState, type OwnedTarget, type StateNote } from '../core/state.ts';
import { targetKey } from '../core/target-registry.ts';

/** The text as a state, or why it cannot be one (with the records still readable in it). */
export type StateText = { readonly ok: true; readonly state: AgentState } | { readonly ok: false; readonly problem: string; readonly salvaged: readonly OwnedTarget[] };

/** No record is longer than this: a brace still open after it is not a record's. */
const MAX_RECORD_CHARS = 4096;
const OPTIONAL_TEXT = ['availabilityZone', 'containerId', 'containerName', 'taskArn'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a value is not a target record, or undefined when it is one. */
export function recordProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'is not an object';
  if (typeof v.targetGroupArn !== 'string' || !isTargetGroupArn(v.targetGroupArn)) return `targetGroupArn ${JSON.stringify(v.targetGroupArn)} is not a target group ARN`;
  if (typeof v.id !== 'string' || parseIpv4(v.id) === undefined) return `id ${JSON.stringify(v.id)} is not an IPv4 address`;
  if (typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 1 || v.port > 65535) return `port ${JSON.stringify(v.port)} is not a port number`;
  for (const k of OPTIONAL_TEXT) if (v[k] !== undefined && typeof v[k] !== 'string') return `${k} is not text`;
  return undefined;
}

/** Reads the text of a state file. */
export function parseStateText(text: string): StateText {
  const fail = (problem: string): StateText => ({ ok: false, problem, salvaged: salvageRecords(text) });
  if (text.trim() === '') return fail('is empty');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // V8 says "Unexpected end of JSON input", "Unterminated string", or names a position at the very end, when the text stops inside a value.
    const position = /at position ([0-9]+)/.exec(message)?.[1];
    const cut = /end of JSON input|Unterminated string/i.test(message) || (position !== undefined && Number(position) >= text.trimEnd().length);
    return fail(cut ? `is cut short (${text.length} bytes, as after a power loss mid-write)` : `is not valid JSON (${message})`);
  }
  if (!isObject(json)) return fail('is not a JSON object');
  if (json.version !== STATE_VERSION) return fail(`has version ${JSON.stringify(json.version)}, this agent reads ${STATE_VERSION}`);
  const addresses = json.addresses ?? [];
  if (!Array.isArray(addresses) || addresses.some((a) => typeof a !== 'string' || parseIpv4(a) === undefined)) return fail('has an "addresses" that is not a list of IPv4 addresses');
  const targets = json.targets ?? [];
  if (!Array.isArray(targets)) return fail('has a "targets" that is not a list');
  for (const [i, t] of targets.entries()) {
    const problem = recordProblem(t);
    if (problem !== undefined) return fail(`has targets[${i}] whose ${problem.replace(/^is /, 'value is ')}`);
  }
  return { ok: true, state: { ...json, version: STATE_VERSION, addresses: addresses as string[], targets: targets as OwnedTarget[] } };
}

/**
 * The complete target records in a damaged text: every flat brace-delimited object (strings
 * respected) that is a valid record, once each, in one pass over the text. A file cut short
 * keeps the records before the cut; garbage keeps none.
 */
export function salvageRecords(text: string): OwnedTarget[] {
  const found = new Map<string, OwnedTarget>();
  /** Open braces: where each starts, and whether an object opened inside it (then it is no record). */
  const open: { at: number; nested: boolean }[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{') {
      const top = open[open.length - 1];
      if (top) top.nested = true;
      open.push({ at: i, nested: false });
    } else if (c === '}') {
      const o = open.pop();
      if (o === undefined || o.nested || i - o.at > MAX_RECORD_CHARS) continue;
      let v: unknown;
      try {
        v = JSON.parse(text.slice(o.at, i + 1));
      } catch {
        continue;
      }
      if (recordProblem(v) !== undefined) continue;
      const t = v as OwnedTarget;
      found.set(targetKey(t.targetGroupArn, t.id, t.port), t);
    }
  }
  return [...found.values()];
}

/** A read error that may pass by itself (the process is out of descriptors or memory): the file is not to blame. */
export function isTransientReadError(code: string | undefined): boolean {
  return code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM' || code === 'EAGAIN' || code === 'EINTR' || code === 'EBUSY';
}

/** The name a damaged file is kept under: `state.json.corrupt-2026-12-02T01-02-03Z`. */
export function asideName(path: string, at: Date): string {
  return `${path}.corrupt-${at.toISOString().replace(/\.[0-9]+Z$/, 'Z').replace(/:/g, '-')}`;
}

/** A line of the journal: a note and its number (the saved state names the last number it took in). */
export interface JournalEntry extends StateNote {
  readonly seq: number;
}

/** The journal's line for a note. */
export function journalLine(seq: number, note: StateNote): string {
  return `${JSON.stringify({ seq, targets: note.targets, addresses: note.addresses })}\n`;
}

/**
 * The journal's entries, in order, and the lines that are none. A line that is not a whole
 * entry is what a write cut short leaves (its call was never made: the write never returned);
 * blank lines are skipped. Entries must be as strict as the state's records.
 */
export function parseJournalText(text: string): { readonly entries: JournalEntry[]; readonly skipped: number } {
  const entries: JournalEntry[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = journalEntry(line);
    if (entry) entries.push(entry);
    else skipped++;
  }
  return { entries, skipped };
}

function journalEntry(line: string): JournalEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(v) || typeof v.seq !== 'number' || !Number.isSafeInteger(v.seq) || v.seq < 1) return undefined;
  if (!Array.isArray(v.targets) || v.targets.some((t) => recordProblem(t) !== undefined)) return undefined;
  if (!Array.isArray(v.addresses) || v.addresses.some((a) => typeof a !== 'string' || parseIpv4(a) === undefined)) return undefined;
  return { seq: v.seq, targets: v.targets as OwnedTarget[], addresses: v.addresses as string[] };
}

/** The number of the last note a saved state took in (0: none, or a state saved before notes existed). */
export function journalSeqOf(state: AgentState): number {
  const seq = (state as { journalSeq?: unknown }).journalSeq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}
