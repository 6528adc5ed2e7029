import levenshtein from 'fast-levenshtein'

/**
 * The known value closest to a typo ("es.feilds" → "es.fields"), or undefined when nothing is close:
 * within two edits, cobra's default for kubectl's "Did you mean this?" (SuggestionsMinimumDistance), or a
 * quarter of a long word.
 */
export function closest(typo: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const d = levenshtein.get(typo.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(typo.length / 4)) ? best : undefined
}
