// What tetractl prints or stores passes through here: `redact` removes credentials from text (URLs, headers, key=value),
// `terminalSafe` removes what a terminal would interpret (escape sequences, control characters), `redactDeep` does
// the first to every string of a JSON document. One implementation, so every output path hides the same things.

const R = '[REDACTED]'

/** Query parameters that carry a credential (API keys, OAuth tokens, passwords, signed-URL signatures). */
const CREDENTIAL_PARAM =
  /^(?:api[_-]?key|apikey|key|token|access[_-]?token|refresh[_-]?token|id[_-]?token|auth|authorization|password|passwd|pwd|pass|secret|client[_-]?secret|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|sas|credential)$|(?:token|secret|password|apikey|api_key|signature)$/i

/** Object keys whose string value is a credential (kubeconfig users, client options, headers). */
const CREDENTIAL_KEY = /^(?:authorization|password|passwd|token|bearer[_-]?token|api[_-]?key|apikey|secret|client[_-]?secret|client-key-data|client-certificate-data|access[_-]?token|refresh[_-]?token)$/i

/** A token after Bearer/Basic/ApiKey that is not an ordinary word of a sentence ("Basic authentication"). */
const plainWord = /^[A-Z]?[a-z]+[.,;:]?$/

/** Removes credentials from text: URL user-info (with or without a scheme), credential query parameters, Authorization values, `key: value` secrets. */
export function redact(text: string): string {
  if (!text) return text
  return (
    text
      // Authorization header values, whatever the scheme (`Authorization: Bearer x`, `"authorization":"ApiKey x"`).
      .replace(/(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?!(?:(?:bearer|basic|apikey|token|negotiate|digest)\s+)?\[REDACTED\])(?:(bearer|basic|apikey|token|negotiate|digest)\s+)?[^\s"',;}]+/gi, (_m, head: string, scheme?: string) => `${head}${scheme ? `${scheme} ` : ''}${R}`)
      // Scheme-prefixed credentials anywhere (an error quoting a header).
      .replace(/\b(Bearer|Basic|ApiKey)(\s+)([A-Za-z0-9._~+/=:-]+)/gi, (m, scheme: string, sp: string, tok: string) => (plainWord.test(tok) ? m : `${scheme}${sp}${R}`))
      // URL user-info after `//` (up to the last @ before the path, so a password containing @ goes too).
      .replace(/(\/\/)[^\s/?#"'<>`]+@/g, `$1${R}@`)
      // Scheme-less `user:password@host[:port]` (what users paste as ELASTICSEARCH_URL).
      .replace(/(^|[\s"'(<=,[{;`])([^\s/?#@"'<>:()[\]{};,=`]+):[^\s/?#"'<>`]*@(?=[A-Za-z0-9[])/g, `$1${R}@`)
      // Credential query parameters (`?apikey=…`, `&access_token=…`, `&amp;sig=…` in XML).
      .replace(/([?&]|&amp;)([A-Za-z0-9_.-]+)=([^&#\s"'<>`]*)/g, (m, sep: string, name: string) => (CREDENTIAL_PARAM.test(name) ? `${sep}${name}=${R}` : m))
      // `password=…`, `"token": "…"`, kubeconfig `client-key-data: …`.
      .replace(/("?\b(?:token|password|passwd|secret|api[_-]?key|apikey|client-key-data|client-certificate-data|access[_-]?token)"?\s*[:=]\s*"?)(?!\[REDACTED\])[^"\s,}&]+/gi, `$1${R}`)
  )
}

/** A URL (or server address) as tetractl shows it: without user-info or credential query parameters. */
export function redactUrl(url: string): string {
  return redact(url)
}

/** A copy of a JSON-able value with every string redacted and credential-named fields replaced. */
export function redactDeep<T>(value: T): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') return key && CREDENTIAL_KEY.test(key) && v !== '' ? R : redact(v)
    if (Array.isArray(v)) return v.map((x) => walk(x))
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = walk(x, k)
      return out
    }
    return v
  }
  return walk(value) as T
}

// ESC-introduced sequences: CSI (ESC [ … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC (ESC P/X/^/_ … ST), and
// two-character escapes; their 8-bit C1 forms (CSI 0x9b, OSC 0x9d, DCS 0x90 … ST 0x9c) likewise.
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]?|\u001b[\]PX^_][^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[ -~]?|\u009b[0-?]*[ -/]*[@-~]?|[\u009d\u0090\u0098\u009e\u009f][^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?/g
// C0 except tab and newline, DEL, C1, and the bidirectional overrides that reorder what a terminal shows.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/** Server-provided text made safe for a terminal: no escape sequences, no control characters but newline and tab. */
export function terminalSafe(text: string): string {
  if (!text) return text
  return text.replace(ESCAPES, '').replace(CONTROLS, '')
}

/** Both: what a human reporter prints of a server's text. */
export function safeText(text: string): string {
  return terminalSafe(redact(text))
}

/** JSON text with the characters JSON.stringify leaves raw (DEL, C1, bidi overrides, line separators) escaped. */
export function escapeJsonControls(json: string): string {
  return json.replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
