// How a host-network container names itself to the readiness gate: the last path segment of
// ECS_CONTAINER_METADATA_URI_V4 in its environment, as the docker source reads it.
import { describe, expect, it } from 'vitest';
import { metadataIdOf } from '../../agent/docker/container-snapshot.ts';

describe('metadataIdOf', () => {
  it.each<[string, string[], string | undefined]>([
    ['the v4 URI the ECS agent sets', ['PATH=/bin', 'ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/a1b2c3d4-1234-5678-9abc-def012345678'], 'a1b2c3d4-1234-5678-9abc-def012345678'],
    ['a trailing slash', ['ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/a1b2c3d4-1234/'], 'a1b2c3d4-1234'],
    ['the v3 variable is not it', ['ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/a1b2c3d4-1234'], undefined],
    ['absent', ['PATH=/bin'], undefined],
    ['too short to be an unguessable id', ['ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/abc'], undefined],
    ['characters no id has', ['ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/a1b2c3d4 $(x)'], undefined],
  ])('%s', (_name, env, expected) => {
    expect(metadataIdOf(env)).toBe(expected);
  });
});
