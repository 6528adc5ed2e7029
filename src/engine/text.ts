// Text a server sent us, made fit for one line of a message: no control characters (a hostile server can
// put terminal escapes or newlines in an error reason), collapsed whitespace, bounded length.
export function serverText(text: unknown, max = 300): string {
  const s = String(text ?? '')
    // C0 and C1 controls and DEL, ESC included: terminal escapes lose their introducer.
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}
