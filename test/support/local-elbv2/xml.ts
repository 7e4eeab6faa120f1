/**
 * A tiny XML writer for ELBv2 query-protocol responses. The endpoint only emits XML, so a
 * tree of plain objects and an escaping serializer are all it takes (no dependency).
 */
import type { ElbError } from './elb-error.ts';

/** The XML namespace of every ELBv2 (2015-12-01) response document. */
export const ELBV2_XML_NAMESPACE = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

/** An element: a name, and either text or child elements (absent children = empty element). */
export interface XmlElement {
  readonly name: string;
  readonly text?: string;
  readonly children?: readonly XmlElement[];
  readonly attributes?: Readonly<Record<string, string>>;
}

/** Builds an element with child elements; `undefined` children are skipped (optional fields). */
export function element(name: string, ...children: ReadonlyArray<XmlElement | undefined>): XmlElement {
  return { name, children: children.filter((child): child is XmlElement => child !== undefined) };
}

/** Builds a text element, or nothing when the value is undefined (so optional fields vanish). */
export function leaf(name: string, value: string | number | boolean | undefined): XmlElement | undefined {
  return value === undefined ? undefined : { name, text: String(value) };
}

/** Builds a query-protocol list: `<Name><member>..</member>...</Name>`. */
export function memberList<T>(name: string, items: readonly T[], toMember: (item: T) => XmlElement): XmlElement {
  return { name, children: items.map((item) => ({ ...toMember(item), name: 'member' })) };
}

// Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/FFFF).
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for element content or attribute values; unrepresentable characters become U+FFFD. */
export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML_CHAR, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Serializes an element tree (no pretty-printing: whitespace would become text nodes). */
export function serializeXml(root: XmlElement): string {
  const attributes = Object.entries(root.attributes ?? {})
    .map(([key, value]) => ` ${key}="${escapeXml(value)}"`)
    .join('');
  if (root.text !== undefined) {
    return `<${root.name}${attributes}>${escapeXml(root.text)}</${root.name}>`;
  }
  const children = root.children ?? [];
  if (children.length === 0) return `<${root.name}${attributes}/>`;
  return `<${root.name}${attributes}>${children.map(serializeXml).join('')}</${root.name}>`;
}

/** A complete success document: `<{Action}Response><{Action}Result>..</..><ResponseMetadata>..`. */
export function successDocument(action: string, resultChildren: readonly XmlElement[], requestId: string): string {
  const root: XmlElement = {
    name: `${action}Response`,
    attributes: { xmlns: ELBV2_XML_NAMESPACE },
    children: [
      { name: `${action}Result`, children: resultChildren },
      element('ResponseMetadata', leaf('RequestId', requestId)),
    ],
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serializeXml(root)}`;
}

/** A complete error document: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`. */
export function errorDocument(error: ElbError, requestId: string): string {
  const root: XmlElement = {
    name: 'ErrorResponse',
    attributes: { xmlns: ELBV2_XML_NAMESPACE },
    children: [
      element('Error', leaf('Type', error.faultType), leaf('Code', error.code), leaf('Message', error.message)),
      { name: 'RequestId', text: requestId },
    ],
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serializeXml(root)}`;
}
