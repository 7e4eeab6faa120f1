// vitest globalSetup: one Docker engine and one test image for the whole run.
// Test files get the engine through `inject('dockerHost')` (or DOCKER_HOST, which is
// set here before the workers start) and the run id through `inject('testRunId')`.
import type { TestProject } from 'vitest/node';
import { connectDocker, startDockerEngine } from './docker-engine.ts';
import { removeTestContainers, testRunId } from './ecs-container.ts';
import { ensureTestImage } from './test-image.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DOCKER_HOST of the engine the tests share; '' when ECSLB_TEST_DOCKER=skip. */
    dockerHost: string;
    /** Label value marking this run's containers (see ecs-container.ts). */
    testRunId: string;
    /** The busybox test image (see test-image.ts). */
    testImage: string;
  }
}

/**
 * Starts (or reuses) the engine and builds the test image; the returned teardown
 * removes this run's containers and stops the engine if this setup started it.
 * `ECSLB_TEST_DOCKER=skip` skips Docker entirely (for unit-only runs without root).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = testRunId();
  project.provide('testRunId', runId);
  if (process.env.ECSLB_TEST_DOCKER === 'skip') {
    console.log('[global-setup] ECSLB_TEST_DOCKER=skip: no Docker engine for this run');
    project.provide('dockerHost', '');
    project.provide('testImage', '');
    return async () => {};
  }

  const engineStarted = Date.now();
  const engine = await startDockerEngine();
  const engineMs = Date.now() - engineStarted;
  const docker = connectDocker(engine.dockerHost);
  let image: string;
  const imageStarted = Date.now();
  try {
    image = await ensureTestImage(docker);
  } catch (error) {
    await engine.stop();
    throw error;
  }
  console.log(
    `[global-setup] docker engine ${engine.dockerHost} (${engine.started ? 'private dockerd started' : 'reused'}) ` +
      `in ${engineMs} ms; test image ${image} ready in ${Date.now() - imageStarted} ms; run id ${runId}`,
  );

  // Workers inherit the environment: code under test that reads DOCKER_HOST finds the engine.
  process.env.DOCKER_HOST = engine.dockerHost;
  project.provide('dockerHost', engine.dockerHost);
  project.provide('testImage', image);

  return async () => {
    try {
      const removed = await removeTestContainers(docker, { runId });
      if (removed > 0) console.log(`[global-setup] removed ${removed} container(s) left by this run`);
    } finally {
      await engine.stop();
    }
  };
}
