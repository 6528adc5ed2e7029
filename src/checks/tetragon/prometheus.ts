// A small parser of the Prometheus text exposition format (0.0.4): samples only (name, labels, value), comments
// and TYPE/HELP lines skipped, timestamps ignored. Enough for counters scraped from Tetragon's :2112/metrics.

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/

function parseLabels(text: string, start: number): {labels: Record<string, string>; end: number} {
  const labels: Record<string, string> = {}
  let i = start + 1 // after '{'
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === ',') i++
    if (text[i] === '}') return {labels, end: i + 1}
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))
    if (!m) throw new Error(`bad label name at column ${i + 1}`)
    const key = m[0]
    i += key.length
    while (text[i] === ' ') i++
    if (text[i] !== '=' || text[i + 1] !== '"') throw new Error(`bad label ${key} at column ${i + 1}`)
    i += 2
    let value = ''
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const n = text[i + 1]
        value += n === 'n' ? '\n' : n ?? ''
        i += 2
      } else value += text[i++]
    }
    if (text[i] !== '"') throw new Error(`unterminated label value of ${key}`)
    labels[key] = value
    i++
  }
  throw new Error('unterminated label set')
}

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity
  if (s === '-Inf') return -Infinity
  if (s === 'NaN') return Number.NaN
  const v = Number(s)
  if (s === '' || Number.isNaN(v)) throw new Error(`bad sample value ${JSON.stringify(s)}`)
  return v
}

/** Parse exposition text; malformed lines are skipped and counted, never thrown. */
export function parsePrometheus(text: string): {samples: Sample[]; badLines: number} {
  const samples: Sample[] = []
  let badLines = 0
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    try {
      const m = NAME.exec(line)
      if (!m) throw new Error('no metric name')
      let i = m[0].length
      let labels: Record<string, string> = {}
      if (line[i] === '{') ({labels, end: i} = parseLabels(line, i))
      const [value] = line.slice(i).trim().split(/\s+/)
      samples.push({name: m[0], labels, value: parseValue(value ?? '')})
    } catch {
      badLines++
    }
  }
  return {samples, badLines}
}

/** Sum of every sample of `name` (all label sets); undefined when the metric is absent. */
export function total(samples: Sample[], name: string): number | undefined {
  let sum: number | undefined
  for (const s of samples) if (s.name === name && Number.isFinite(s.value)) sum = (sum ?? 0) + s.value
  return sum
}
