/**
 * The module graph of the TypeScript sources, read with the compiler's own import scanner
 * (`ts.preProcessFile`: static imports, re-exports, `import type` and dynamic `import()` alike, so a
 * cycle over one type counts), and the layering rules issue 13 set for it. Relative specifiers are
 * resolved as NodeNext writes them (`./x.js` names `./x.ts`); bare ones are packages.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import ts from 'typescript'

export interface ImportGraph {
  /** Project-relative paths with `/`, sorted. */
  files: string[]
  /** file → the project files it imports. */
  imports: Map<string, string[]>
  /** file → the packages it imports (bare specifiers). */
  packages: Map<string, string[]>
}

export interface Violation {
  rule: string
  from: string
  to: string
}

function sourceFiles (root: string, dir: string): string[] {
  const abs = join(root, dir)
  if (!existsSync(abs)) return []
  const out: string[] = []
  for (const name of readdirSync(abs)) {
    const path = join(abs, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(root, join(dir, name)))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, path).split(sep).join('/'))
  }
  return out
}

function resolveRelative (root: string, from: string, specifier: string): string | undefined {
  const target = join(dirname(join(root, from)), specifier)
  for (const candidate of [target.replace(/\.js$/, '.ts'), target, `${target}.ts`, join(target, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) return relative(root, candidate).split(sep).join('/')
  }
  return undefined
}

/** Every `.ts` file under `dirs` (relative to `root`), and what each imports. */
export function readImportGraph (root: string, dirs: readonly string[]): ImportGraph {
  const files = dirs.flatMap(dir => sourceFiles(root, dir)).sort()
  const imports = new Map<string, string[]>()
  const packages = new Map<string, string[]>()
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true)
    const local: string[] = []
    const external: string[] = []
    for (const { fileName } of info.importedFiles) {
      if (fileName.startsWith('.')) {
        const resolved = resolveRelative(root, file, fileName)
        if (resolved !== undefined) local.push(resolved)
      } else {
        external.push(fileName)
      }
    }
    imports.set(file, [...new Set(local)].sort())
    packages.set(file, [...new Set(external)].sort())
  }
  return { files, imports, packages }
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function findCycles (graph: ImportGraph): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []

  function visit (file: string): void {
    index.set(file, next)
    low.set(file, next)
    next++
    stack.push(file)
    onStack.add(file)
    for (const dep of graph.imports.get(file) ?? []) {
      if (!index.has(dep)) {
        visit(dep)
        low.set(file, Math.min(low.get(file)!, low.get(dep)!))
      } else if (onStack.has(dep)) {
        low.set(file, Math.min(low.get(file)!, index.get(dep)!))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string | undefined
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || (graph.imports.get(file) ?? []).includes(file)) cycles.push(component.sort())
  }

  for (const file of graph.files) if (!index.has(file)) visit(file)
  return cycles
}

/** Where the repositories (the knex queries) live. */
const REPOSITORIES = ['src/db/repositories/', 'src/db/outbox/']
const within = (file: string, prefixes: readonly string[]) => prefixes.some(p => file.startsWith(p))
/** Fastify itself and its plugins: the LTI core must run without a web framework. */
const isFramework = (pkg: string) => pkg === 'fastify' || pkg.startsWith('fastify-') || pkg.startsWith('@fastify/')

/**
 * - HTTP schemas and routes use the core (services, domain types), never a repository;
 * - repositories never import back from the HTTP schemas;
 * - the LTI core (`src/lti/**`) imports neither Fastify, nor knex, nor the database layer.
 */
export function layerViolations (graph: ImportGraph): Violation[] {
  const found: Violation[] = []
  for (const from of graph.files) {
    for (const to of graph.imports.get(from) ?? []) {
      if (within(from, ['schemas/', 'src/routes/']) && within(to, REPOSITORIES)) found.push({ rule: 'schemas and routes import the core, not repositories', from, to })
      if (within(from, ['src/db/']) && within(to, ['schemas/'])) found.push({ rule: 'the database layer does not import HTTP schemas', from, to })
      if (within(from, ['src/lti/']) && within(to, ['src/db/'])) found.push({ rule: 'the LTI core does not import the database layer', from, to })
    }
    if (!within(from, ['src/lti/'])) continue
    for (const pkg of graph.packages.get(from) ?? []) {
      if (isFramework(pkg) || pkg === 'knex') found.push({ rule: 'the LTI core imports neither Fastify nor knex', from, to: pkg })
    }
  }
  return found
}
