// The layers point one way. Every import of every agent/**/*.ts file, parsed with the
// TypeScript compiler (type-only imports count: they are arrows in the source too), checked
// against the layering of issue 9: the core (core/, reconcile/, mapping/, fleet/) imports no
// adapter, no command, no metrics and no npm package; adapters (docker/, elb/, host/, state/)
// import neither the core's decisions (reconcile/, mapping/) nor each other.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const AGENT = join(ROOT, 'agent');

const CORE_DIRS = ['core', 'reconcile', 'mapping', 'fleet', 'fleet-view'];
const ADAPTER_DIRS = ['docker', 'elb', 'host', 'state', 'readiness', 'task-metadata', 'ecs'];
/** What the core may not import from. */
const NOT_FOR_THE_CORE = [...ADAPTER_DIRS, 'metrics', 'commands'];

/**
 * Node builtins the core imports today, each with its reason. Anything else from `node:` in
 * the core is a new dependency on the process's environment: put it in an adapter.
 */
const CORE_BUILTIN_EXCEPTIONS: Record<string, { imports: string[]; reason: string }> = {
  'mapping/mapping-file.ts': {
    imports: ['node:fs/promises'],
    reason: 'loadMappingFile reads the --mapping-file the composition root names; parsing the rules is pure',
  },
};

interface Import {
  readonly from: string;
  readonly specifier: string;
  readonly typeOnly: boolean;
  /** For an import inside agent/: its path relative to agent/ (posix). */
  readonly target?: string;
}

function agentFiles(dir = AGENT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return agentFiles(path);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module specifier a file names: import and export declarations, `import x = require()`, dynamic `import()`. */
function importsOf(file: string): Import[] {
  const from = relative(AGENT, file).split('\\').join('/');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Import[] = [];
  const add = (specifier: string, typeOnly: boolean) => {
    const inside = specifier.startsWith('.') ? posix.normalize(posix.join(posix.dirname(from), specifier)) : undefined;
    out.push({ from, specifier, typeOnly, ...(inside !== undefined ? { target: inside } : {}) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      add(node.moduleReference.expression.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      add(node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const FILES = agentFiles().sort();
const IMPORTS = FILES.flatMap(importsOf);
const dirOf = (path: string) => (path.includes('/') ? (path.split('/')[0] as string) : '');
const inDirs = (path: string, dirs: readonly string[]) => dirs.includes(dirOf(path));
const show = (i: Import) => `${i.from} imports ${i.typeOnly ? 'type ' : ''}'${i.specifier}'`;
const isPackage = (i: Import) => i.target === undefined && !i.specifier.startsWith('node:');
const isBuiltin = (i: Import) => i.specifier.startsWith('node:');

describe('architecture: the parser', () => {
  it('finds the agent\'s files and their imports', () => {
    expect(FILES.length).toBeGreaterThan(30);
    expect(IMPORTS.length).toBeGreaterThan(100);
    // A known arrow of each kind, so an empty parse cannot pass the rules below.
    expect(IMPORTS).toContainEqual({ from: 'reconcile/reconciler.ts', specifier: '../core/target-registry.ts', typeOnly: false, target: 'core/target-registry.ts' });
    expect(IMPORTS).toContainEqual({ from: 'reconcile/reconciler-options.ts', specifier: '../log.ts', typeOnly: true, target: 'log.ts' });
    expect(IMPORTS).toContainEqual({ from: 'wiring.ts', specifier: 'dockerode', typeOnly: false });
  });

  it('resolves every relative import to a file that exists', () => {
    const known = new Set(FILES.map((f) => relative(AGENT, f).split('\\').join('/')));
    expect(IMPORTS.filter((i) => i.target !== undefined && !known.has(i.target)).map(show)).toEqual([]);
  });
});

describe('architecture: the core (core/, reconcile/, mapping/, fleet/)', () => {
  const core = IMPORTS.filter((i) => inDirs(i.from, CORE_DIRS));

  it(`imports nothing from ${NOT_FOR_THE_CORE.map((d) => `${d}/`).join(', ')}`, () => {
    expect(core.filter((i) => i.target !== undefined && inDirs(i.target, NOT_FOR_THE_CORE)).map(show)).toEqual([]);
  });

  it('imports no npm package (not even types)', () => {
    expect(core.filter(isPackage).map(show)).toEqual([]);
  });

  it('imports node: builtins only where it does today, each for a stated reason', () => {
    const found = core.filter(isBuiltin).map((i) => `${i.from} ${i.specifier}`).sort();
    const allowed = Object.entries(CORE_BUILTIN_EXCEPTIONS).flatMap(([file, e]) => e.imports.map((m) => `${file} ${m}`)).sort();
    expect(found).toEqual(allowed);
    for (const e of Object.values(CORE_BUILTIN_EXCEPTIONS)) expect(e.reason).not.toBe('');
  });

  it('core/ itself imports only core/', () => {
    const out = IMPORTS.filter((i) => dirOf(i.from) === 'core' && (i.target === undefined || dirOf(i.target) !== 'core'));
    expect(out.map(show)).toEqual([]);
  });
});

describe('architecture: adapters (docker/, elb/, host/, state/)', () => {
  it.each(ADAPTER_DIRS)('%s/ imports neither reconcile/ nor mapping/ nor another adapter', (dir) => {
    const wrong = IMPORTS.filter((i) => dirOf(i.from) === dir && i.target !== undefined && (inDirs(i.target, ['reconcile', 'mapping']) || (inDirs(i.target, ADAPTER_DIRS) && dirOf(i.target) !== dir)));
    expect(wrong.map(show)).toEqual([]);
  });
});

describe('architecture: the composition root', () => {
  it('adapters are imported only by the composition root (main.ts, wiring.ts: they build them) and by the commands (which drive them)', () => {
    const importers = new Set<string>();
    for (const i of IMPORTS) {
      if (i.target === undefined || !inDirs(i.target, ADAPTER_DIRS) || dirOf(i.from) === dirOf(i.target)) continue;
      importers.add(i.from);
    }
    expect([...importers].filter((f) => f !== 'main.ts' && f !== 'wiring.ts' && !f.startsWith('commands/')).sort()).toEqual([]);
  });
});
