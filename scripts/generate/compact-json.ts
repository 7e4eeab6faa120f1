/**
 * JSON for people: an object or array that fits in `width` characters stays on one line,
 * a longer one gets a line per member. What it prints parses to the same value (JSON is YAML,
 * so the template holds it as is).
 */
export function compactJson(value: unknown, indent = '', width = 100): string {
  const inline = JSON.stringify(value);
  if (inline.length + indent.length <= width || value === null || typeof value !== 'object') return inline;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + compactJson(v, inner, width)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner, width)}`);
  return `{\n${entries.join(',\n')}\n${indent}}`;
}
