import { XMLParser, XMLValidator } from 'fast-xml-parser'

/** An element with its namespace resolved: `ns` is the namespace URI (`undefined` for none). */
export interface XmlElement {
  ns: string | undefined
  local: string
  children: XmlElement[]
  /** Concatenated character data of this element (not of its children), entities decoded. */
  text: string
}

/** Thrown for anything not well-formed; the caller maps it to its own coded error. */
export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError'
}

/**
 * Parses small, untrusted XML into namespace-resolved elements. fast-xml-parser does the tokenizing
 * with every entity feature OFF (`processEntities: false`) and is asked to keep document order;
 * it does not resolve namespaces, so prefixes and `xmlns` attributes are resolved here, which lets
 * callers match on (namespace URI, local name) exactly whether the sender used a default namespace
 * or a prefix. Only the five predefined entities and character references are decoded, by hand,
 * in one pass: nothing can expand. Callers must refuse `<!DOCTYPE` before calling.
 */
export function parseNamespacedXml (text: string): XmlElement {
  const validation = XMLValidator.validate(text)
  if (validation !== true) throw new XmlSyntaxError(validation.err.msg)
  let nodes: unknown
  try {
    nodes = PARSER.parse(text)
  } catch (err) {
    throw new XmlSyntaxError(err instanceof Error ? err.message : 'unparseable')
  }
  const roots = resolveChildren(nodes, new Map())
  if (roots.elements.length !== 1) throw new XmlSyntaxError('a document has exactly one root element')
  if (roots.text.trim() !== '') throw new XmlSyntaxError('text outside the root element')
  return roots.elements[0] as XmlElement
}

const PARSER = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata'
})

type Scope = ReadonlyMap<string, string | undefined>

/** Document-order nodes of fast-xml-parser (`preserveOrder`): `{tag: [children], ':@': attrs}` or `{'#text': …}`. */
function resolveChildren (nodes: unknown, scope: Scope): { elements: XmlElement[], text: string } {
  if (!Array.isArray(nodes)) throw new XmlSyntaxError('unexpected parser output')
  const elements: XmlElement[] = []
  let text = ''
  for (const node of nodes as unknown[]) {
    if (typeof node !== 'object' || node === null) throw new XmlSyntaxError('unexpected parser output')
    const record = node as Record<string, unknown>
    const names = Object.keys(record).filter(key => key !== ':@')
    if (names.length !== 1) throw new XmlSyntaxError('unexpected parser output')
    const name = names[0] as string
    if (name === '#text') {
      text += decodeXmlText(String(record[name]))
    } else if (name === '#cdata') {
      // CDATA is literal: its inner text node is not entity-decoded.
      const inner = record[name]
      if (Array.isArray(inner)) for (const part of inner as Array<Record<string, unknown>>) text += String(part['#text'] ?? '')
    } else {
      elements.push(resolveElement(name, record[name], record[':@'], scope))
    }
  }
  return { elements, text }
}

function resolveElement (qualifiedName: string, children: unknown, attributes: unknown, parentScope: Scope): XmlElement {
  const scope = new Map(parentScope)
  if (attributes !== undefined) {
    if (typeof attributes !== 'object' || attributes === null) throw new XmlSyntaxError('unexpected parser output')
    for (const [attr, value] of Object.entries(attributes as Record<string, unknown>)) {
      const uri = decodeXmlText(String(value))
      if (attr === 'xmlns') scope.set('', uri === '' ? undefined : uri)
      else if (attr.startsWith('xmlns:')) {
        if (uri === '') throw new XmlSyntaxError('a namespace prefix cannot be undeclared')
        scope.set(attr.slice('xmlns:'.length), uri)
      }
    }
  }
  const colon = qualifiedName.indexOf(':')
  const prefix = colon === -1 ? '' : qualifiedName.slice(0, colon)
  const local = colon === -1 ? qualifiedName : qualifiedName.slice(colon + 1)
  if (local === '' || local.includes(':')) throw new XmlSyntaxError('bad element name')
  if (prefix !== '' && !scope.has(prefix)) throw new XmlSyntaxError(`undeclared namespace prefix ${prefix}`)
  const resolved = resolveChildren(children, scope)
  return { ns: scope.get(prefix), local, children: resolved.elements, text: resolved.text }
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Decodes the five predefined entities and `&#…;` references; any other `&name;` is refused. */
export function decodeXmlText (raw: string): string {
  return raw.replace(/&([^;&]*);?/g, (whole, body: string) => {
    if (!whole.endsWith(';')) throw new XmlSyntaxError('bare ampersand')
    if (Object.hasOwn(PREDEFINED, body)) return PREDEFINED[body] as string
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(body)
    if (numeric === null) throw new XmlSyntaxError('undeclared entity')
    const codePoint = numeric[1] !== undefined ? parseInt(numeric[1], 16) : Number(numeric[2])
    if (!isXmlChar(codePoint)) throw new XmlSyntaxError('character reference to a non-XML character')
    return String.fromCodePoint(codePoint)
  })
}

function isXmlChar (cp: number): boolean {
  return cp === 0x9 || cp === 0xA || cp === 0xD ||
    (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF)
}
