// Child-process helpers for the binary build: run a tool, capture its output, and turn a
// failure into an error that names the command and shows what it printed.
import { spawn } from 'node:child_process';
import process from 'node:process';

/** A failed build step: the message says what was being done and how to fix it. */
export class BuildError extends Error {
  name = 'BuildError';
}

/**
 * Runs `command args...` and resolves with its stdout and stderr. Rejects with a BuildError
 * naming the command (and `hint`, if given) when it cannot start or exits non-zero.
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, hint?: string, timeoutMs?: number }} [options]
 * @returns {Promise<{ stdout: string, stderr: string }>}
 */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      // No stdin: a tool that exits without reading it could otherwise fail the build with EPIPE.
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const shown = [command, ...args].join(' ');
    child.on('error', (err) => {
      const why = /** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT' ? 'not found on PATH' : err.message;
      reject(new BuildError(`cannot run ${command}: ${why}${options.hint ? `\n  ${options.hint}` : ''}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const status = signal ? `killed by ${signal}${options.timeoutMs ? `, time limit ${options.timeoutMs} ms` : ''}` : `exit code ${code}`;
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-20).join('\n    ');
      reject(
        new BuildError(
          `${shown} failed (${status})${options.hint ? `\n  ${options.hint}` : ''}${output ? `\n  output:\n    ${output}` : ''}`,
        ),
      );
    });
  });
}

/**
 * Whether `command` can be started (it is on PATH and runs `--version` successfully).
 * @param {string} command
 */
export async function haveTool(command) {
  try {
    await run(command, ['--version']);
    return true;
  } catch {
    return false;
  }
}
