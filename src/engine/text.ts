// Text a server sent us, made fit for one line of a message: collapsed whitespace, bounded length. Other control
// characters stay: --json keeps what the server said (escaped), and every renderer for a terminal, JUnit and
// annotations strips them (src/engine/redact.ts safeText), so a hostile escape never reaches a screen.
export function serverText(text: unknown, max = 300): string {
  const s = String(text ?? '')
    .replace(/[\r\n\t\v\f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}
