// Text fitted to a terminal's width (issue #14 item 2): prose wraps at spaces with a hanging indent; commands never
// wrap (a broken line does not paste), they are printed whole instead.

/** Columns a plain string takes: one per code point (the report's symbols ✔ ‼ × – … → are all single-width). */
export function columns(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

/**
 * Prose as lines of at most `width` columns: the first starts with `first`, the others with `rest` (a hanging
 * indent). A word longer than a line is cut, so no line exceeds the width.
 */
export function wrapProse(text: string, width: number, first = '', rest = first): string[] {
  const out: string[] = []
  for (const paragraph of text.split('\n')) {
    let indent = out.length === 0 ? first : rest
    let line = ''
    // Never below 20 columns of text, however deep the indent (a very narrow terminal still gets words).
    const room = () => Math.max(20, width - columns(indent))
    const flush = () => {
      out.push(`${indent}${line}`.trimEnd())
      indent = rest
      line = ''
    }
    const words = paragraph.split(/[ \t]+/).filter(Boolean)
    if (words.length === 0) flush()
    for (let word of words) {
      if (line !== '' && columns(line) + 1 + columns(word) > room()) flush()
      while (line === '' && columns(word) > room()) {
        const chars = [...word]
        line = chars.slice(0, room()).join('')
        word = chars.slice(room()).join('')
        flush()
      }
      if (word !== '') line = line === '' ? word : `${line} ${word}`
    }
    if (line !== '') flush()
  }
  return out
}
