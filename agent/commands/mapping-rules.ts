/**
 * The --mapping-file's rules for a command. A file that cannot be used at start is a
 * configuration error (exit 78), except for `run` when this agent kept a copy of its last
 * good version: then the daemon runs with those rules (an error line names the file, the
 * problem and the copy's age) and takes the file again once it is fixed. Each good version
 * `run` reads is copied to the state directory; a copy that cannot be written costs nothing
 * but that fallback.
 */
import type { AgentConfig } from '../config.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';
import { MappingFileRules, loadMappingFile, parseMappingRules, type MappingRule } from '../mapping/mapping-file.ts';
import { MAPPING_COPY_FILE, readMappingCopy, saveMappingCopy } from '../state/mapping-copy.ts';

export async function mappingRules(config: AgentConfig, command: string | undefined, log: Log): Promise<MappingFileRules | undefined> {
  const path = config.mappingFile;
  if (path === undefined) return undefined;
  if (command !== 'run') return new MappingFileRules(path, await loadMappingFile(path), log);
  const keep = (rules: readonly MappingRule[]) => {
    saveMappingCopy(config.stateDir, path, rules).catch((err: unknown) => log.debug(`cannot keep a copy of the mapping file in ${config.stateDir}: ${errorMessage(err)}`));
  };
  let rules: MappingRule[];
  try {
    rules = await loadMappingFile(path);
  } catch (err) {
    const copy = err instanceof ConfigError ? await readMappingCopy(config.stateDir, path) : undefined;
    if (copy === undefined) throw err;
    // The copy was valid when it was saved; a damaged copy is no fallback.
    rules = parseMappingRules(copy.json, `${config.stateDir}/${MAPPING_COPY_FILE}`);
    log.error(`${errorMessage(err)}; running with its last good version (${rules.length} rule(s), saved ${copy.savedAt}) until it is fixed`, {
      event: 'mapping-fallback', path, error: errorMessage(err), rules: rules.length, savedAt: copy.savedAt,
    });
    return new MappingFileRules(path, rules, log, keep);
  }
  keep(rules);
  return new MappingFileRules(path, rules, log, keep);
}
