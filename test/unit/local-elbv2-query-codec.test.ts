// The AWS query protocol codec of the local ELBv2 endpoint: form parameters in,
// SigV4 credential scope, XML out.
import { describe, expect, it } from 'vitest';
import { parseCallerCredential } from '../support/local-elbv2/caller-credential.ts';
import { ElbError } from '../support/local-elbv2/elb-error.ts';
import { ParamReader, parseQueryParams, readMembers } from '../support/local-elbv2/query-params.ts';
import { element, errorDocument, escapeXml, leaf, memberList, serializeXml, successDocument } from '../support/local-elbv2/xml.ts';

describe('parseQueryParams', () => {
  it('decodes form encoding (%XX and +) and lets the body override the URL', () => {
    const params = parseQueryParams('Action=A&Version=1', 'Action=RegisterTargets&Name=a%20b+c&Empty=');
    expect(Object.fromEntries(params)).toEqual({ Action: 'RegisterTargets', Version: '1', Name: 'a b c', Empty: '' });
  });

  it('never throws on garbage', () => {
    expect(() => parseQueryParams('%%%&&==&%zz=%E0%A4%A', '\u0000\uffff')).not.toThrow();
  });
});

describe('readMembers / ParamReader lists', () => {
  const params = parseQueryParams(
    'Targets.member.2.Id=10.0.0.2&Targets.member.1.Id=10.0.0.1&Targets.member.1.Port=80&Targets.member.1.AvailabilityZone=all' +
      '&Names.member.1=a&Names.member.3=c&Names.member.2=b&Names.member.x=ignored&Empty=',
  );

  it('orders structure members by index and keeps their fields', () => {
    expect(readMembers(params, 'Targets')).toEqual([
      { index: 1, fields: { Id: '10.0.0.1', Port: '80', AvailabilityZone: 'all' } },
      { index: 2, fields: { Id: '10.0.0.2' } },
    ]);
  });

  it('reads string lists in index order, an empty list as [] and an absent one as undefined', () => {
    const reader = new ParamReader(params);
    expect(reader.stringList('Names', 'names')).toEqual(['a', 'b', 'c']);
    expect(reader.stringList('Empty', 'empty')).toEqual([]);
    expect(reader.stringList('Missing', 'missing')).toBeUndefined();
    expect(() => reader.check()).not.toThrow();
  });
});

describe('ParamReader validation', () => {
  it('collects every violation into one ValidationError, worded like AWS', () => {
    const reader = new ParamReader(parseQueryParams('Port=0&PageSize=abc&Protocol=FTP'));
    reader.string('TargetGroupArn', 'targetGroupArn', { required: true });
    reader.integer('Port', 'port', { min: 1, max: 65535 });
    reader.integer('PageSize', 'pageSize', { min: 1, max: 400 });
    reader.string('Protocol', 'protocol', { enum: ['HTTP', 'HTTPS'] });
    let thrown: unknown;
    try {
      reader.check();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ElbError);
    const error = thrown as ElbError;
    expect(error.code).toBe('ValidationError');
    expect(error.httpStatus).toBe(400);
    expect(error.message).toBe(
      '4 validation errors detected: ' +
        "Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null; " +
        "Value '0' at 'port' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        "Value 'abc' at 'pageSize' failed to satisfy constraint: Member must be an integer; " +
        "Value 'FTP' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS]",
    );
  });

  it('returns typed values when the input is fine', () => {
    const reader = new ParamReader(parseQueryParams('Port=8080&Name=web'));
    expect(reader.integer('Port', 'port', { min: 1, max: 65535 })).toBe(8080);
    expect(reader.string('Name', 'name', { required: true })).toBe('web');
    expect(() => reader.check()).not.toThrow();
  });
});

describe('parseCallerCredential', () => {
  it('takes the access key id from a SigV4 Authorization header', () => {
    const header =
      'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE123/20250101/us-east-1/elasticloadbalancing/aws4_request, ' +
      'SignedHeaders=content-type;host;x-amz-date, Signature=abcdef';
    expect(parseCallerCredential(header)).toEqual({ kind: 'sigv4', accessKeyId: 'AKIAEXAMPLE123', region: 'us-east-1', service: 'elasticloadbalancing' });
  });

  it('accepts a presigned X-Amz-Credential', () => {
    expect(parseCallerCredential(undefined, 'ASIATEMP/20250101/eu-west-1/elasticloadbalancing/aws4_request')).toMatchObject({
      kind: 'sigv4',
      accessKeyId: 'ASIATEMP',
    });
  });

  it('tells a missing credential from a malformed one', () => {
    expect(parseCallerCredential(undefined)).toEqual({ kind: 'missing' });
    expect(parseCallerCredential('Basic dXNlcjpwYXNz').kind).toBe('malformed');
    expect(parseCallerCredential('AWS4-HMAC-SHA256 SignedHeaders=host').kind).toBe('malformed');
    expect(parseCallerCredential('AWS4-HMAC-SHA256 Credential=AKIA/20250101').kind).toBe('malformed');
  });
});

describe('XML writer', () => {
  it('escapes markup and replaces characters XML cannot carry', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    expect(escapeXml('nul\u0000 bell\u0007 tab\t lone\uD800 ok\u00e9')).toBe('nul\uFFFD bell\uFFFD tab\t lone\uFFFD ok\u00e9');
  });

  it('writes query-protocol lists, skips undefined leaves and self-closes empty elements', () => {
    const xml = serializeXml(
      element('R', memberList('Items', [1, 2], (n) => element('member', leaf('N', n), leaf('Skip', undefined))), element('Empty')),
    );
    expect(xml).toBe('<R><Items><member><N>1</N></member><member><N>2</N></member></Items><Empty/></R>');
  });

  it('wraps results and errors in the ELBv2 envelopes', () => {
    expect(successDocument('RegisterTargets', [], 'req-1')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<RegisterTargetsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">' +
        '<RegisterTargetsResult/><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></RegisterTargetsResponse>',
    );
    expect(errorDocument(new ElbError('TargetGroupNotFound', "Target groups 'x' not found"), 'req-2')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type>' +
        '<Code>TargetGroupNotFound</Code><Message>Target groups &apos;x&apos; not found</Message></Error>' +
        '<RequestId>req-2</RequestId></ErrorResponse>',
    );
    expect(errorDocument(new ElbError('InternalFailure', 'boom', 500), 'r')).toContain('<Type>Receiver</Type>');
  });
});
