/**
 * Who is calling: the access key id from a SigV4 `Authorization` header (or a presigned
 * `X-Amz-Credential` parameter). Signatures are not verified: the endpoint only needs to
 * tell callers apart and to refuse keys it has been told are no longer valid.
 */

/** What the request says about its credentials. */
export type CallerCredential =
  | { readonly kind: 'missing' }
  | { readonly kind: 'malformed'; readonly detail: string }
  | { readonly kind: 'sigv4'; readonly accessKeyId: string; readonly region?: string; readonly service?: string };

/** Extracts the access key id from `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...`. */
export function parseCallerCredential(authorization: string | undefined, presignedCredential?: string): CallerCredential {
  const scope = authorization !== undefined ? credentialFromHeader(authorization) : presignedCredential;
  if (authorization === undefined && presignedCredential === undefined) return { kind: 'missing' };
  if (scope === undefined) {
    return { kind: 'malformed', detail: "Authorization header requires 'Credential' parameter." };
  }
  const [accessKeyId, , region, service, terminator] = scope.split('/');
  if (!accessKeyId || terminator !== 'aws4_request') {
    return { kind: 'malformed', detail: `Credential should be scoped to a valid region and service, not '${scope}'.` };
  }
  return { kind: 'sigv4', accessKeyId, ...(region ? { region } : {}), ...(service ? { service } : {}) };
}

function credentialFromHeader(header: string): string | undefined {
  const match = /^AWS4-HMAC-SHA256\s+(.*)$/i.exec(header.trim());
  if (!match) return undefined;
  for (const part of (match[1] ?? '').split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 'Credential' && value) return value;
  }
  return undefined;
}
