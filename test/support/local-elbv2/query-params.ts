/**
 * The request side of the AWS query protocol: form-encoded `key=value` pairs (body or URL),
 * lists as `Name.member.N` and lists of structures as `Name.member.N.Field`. `ParamReader`
 * reads typed values and collects constraint violations the way AWS reports them
 * ("2 validation errors detected: ...").
 */
import { constraintViolations } from './elb-error.ts';

/** Decoded query parameters, by their full dotted name. */
export type QueryParams = ReadonlyMap<string, string>;

/**
 * Decodes form-encoded sources (URL query string, then body) into one map; later sources win.
 * Never throws: malformed percent-escapes are kept as literal text, as URLSearchParams does.
 */
export function parseQueryParams(...sources: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const source of sources) {
    for (const [key, value] of new URLSearchParams(source)) params.set(key, value);
  }
  return params;
}

/** One element of a query list: its 1-based index, its own value (string lists) or fields (structure lists). */
export interface ListMember {
  readonly index: number;
  value?: string;
  readonly fields: Record<string, string>;
}

/** One element of a list of structures: field name to raw text. */
export type StructMember = Readonly<Record<string, string | undefined>>;

/** Reads the members of `Prefix.member.N[.Field]`, ordered by N; undefined when the list is absent. */
export function readMembers(params: QueryParams, prefix: string): ListMember[] | undefined {
  const byIndex = new Map<number, ListMember>();
  let present = params.has(prefix);
  const head = `${prefix}.member.`;
  for (const [key, value] of params) {
    if (!key.startsWith(head)) continue;
    present = true;
    const rest = key.slice(head.length);
    const dot = rest.indexOf('.');
    const indexText = dot === -1 ? rest : rest.slice(0, dot);
    if (!/^[1-9]\d{0,5}$/.test(indexText)) continue;
    const index = Number(indexText);
    const member = byIndex.get(index) ?? { index, fields: {} };
    if (dot === -1) member.value = value;
    else member.fields[rest.slice(dot + 1)] = value;
    byIndex.set(index, member);
  }
  if (!present) return undefined;
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

interface IntegerRule {
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/**
 * Typed access to query parameters that gathers every violation before failing, so one
 * request with three problems gets one error listing all three (as AWS's validator does).
 * Call `check()` after reading to throw the collected `ValidationError`.
 */
export class ParamReader {
  private readonly violations: string[] = [];

  constructor(readonly params: QueryParams) {}

  /** A string parameter; `field` is the lowerCamel member path used in messages. */
  string(key: string, field: string, options: { required?: boolean; enum?: readonly string[]; maxLength?: number } = {}): string | undefined {
    const value = this.params.get(key);
    if (value === undefined) {
      if (options.required) this.violate(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    if (options.enum && !options.enum.includes(value)) {
      this.violate(`Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${options.enum.join(', ')}]`);
    }
    if (options.maxLength !== undefined && value.length > options.maxLength) {
      this.violate(`Value '${value}' at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${options.maxLength}`);
    }
    return value;
  }

  /** An integer parameter with optional bounds. */
  integer(key: string, field: string, rule: IntegerRule = {}): number | undefined {
    return this.integerValue(this.params.get(key), field, rule);
  }

  /** Validates raw text as an integer (for fields of list members). */
  integerValue(raw: string | undefined, field: string, rule: IntegerRule = {}): number | undefined {
    if (raw === undefined) {
      if (rule.required) this.violate(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    if (!/^-?\d{1,10}$/.test(raw.trim())) {
      this.violate(`Value '${raw}' at '${field}' failed to satisfy constraint: Member must be an integer`);
      return undefined;
    }
    const value = Number(raw.trim());
    if (rule.min !== undefined && value < rule.min) {
      this.violate(`Value '${value}' at '${field}' failed to satisfy constraint: Member must have value greater than or equal to ${rule.min}`);
    } else if (rule.max !== undefined && value > rule.max) {
      this.violate(`Value '${value}' at '${field}' failed to satisfy constraint: Member must have value less than or equal to ${rule.max}`);
    }
    return value;
  }

  /** A list of strings (`Prefix.member.N`); undefined when absent, or required-violation. */
  stringList(prefix: string, field: string, options: { required?: boolean } = {}): string[] | undefined {
    const members = readMembers(this.params, prefix);
    if (members === undefined) {
      if (options.required) this.violate(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    return members.flatMap((member) => (member.value === undefined ? [] : [member.value]));
  }

  /** A list of structures (`Prefix.member.N.Field`); undefined when absent, or required-violation. */
  structList(prefix: string, field: string, options: { required?: boolean } = {}): Array<{ index: number; fields: StructMember }> | undefined {
    const members = readMembers(this.params, prefix);
    if (members === undefined) {
      if (options.required) this.violate(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    return members.filter((member) => Object.keys(member.fields).length > 0).map(({ index, fields }) => ({ index, fields }));
  }

  /** Records a violation found by the caller (cross-field rules). */
  violate(message: string): void {
    this.violations.push(message);
  }

  /** Throws one `ValidationError` listing every violation so far; no-op when there are none. */
  check(): void {
    if (this.violations.length > 0) throw constraintViolations(this.violations);
  }
}
