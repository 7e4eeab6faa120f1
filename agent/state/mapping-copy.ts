/**
 * The last good version of the mapping file, kept in the state directory: when the file is
 * damaged (a half-saved edit, a failing card) and the agent restarts, it runs with the rules
 * it last ran with instead of stopping, and says so. Written atomically like the state; a
 * copy is only ever used for the mapping file it was taken from.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile } from './state-store.ts';

export const MAPPING_COPY_FILE = 'mapping.last-good.json';

/** A saved copy: the rules (as the file's "mappings" array) and when they were saved. */
export interface MappingCopy {
  readonly savedAt: string;
  readonly json: unknown;
}

/** Saves the rules read from `source`. */
export async function saveMappingCopy(dir: string, source: string, mappings: readonly unknown[], now = new Date()): Promise<void> {
  const text = `${JSON.stringify({ source, savedAt: now.toISOString(), mappings }, null, 2)}\n`;
  await replaceFile(dir, MAPPING_COPY_FILE, text, `${MAPPING_COPY_FILE}.${process.pid}.tmp`);
}

/** The copy saved from `source`, or undefined when there is none (or it is of another file, or unreadable). */
export async function readMappingCopy(dir: string, source: string): Promise<MappingCopy | undefined> {
  try {
    const json = JSON.parse(await readFile(join(dir, MAPPING_COPY_FILE), 'utf8')) as { source?: unknown; savedAt?: unknown; mappings?: unknown };
    if (json.source !== source || typeof json.savedAt !== 'string') return undefined;
    return { savedAt: json.savedAt, json: { mappings: json.mappings } };
  } catch {
    return undefined;
  }
}
