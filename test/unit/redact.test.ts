// The one redaction function and the terminal sanitiser every output path uses (issue #12).
import {describe, expect, it} from 'vitest'

import {escapeJsonControls, redact, redactDeep, terminalSafe} from '../../src/engine/redact.js'
import {renderGithubAnnotations} from '../../src/report/github.js'
import {renderHuman} from '../../src/report/human.js'
import {renderJunit} from '../../src/report/junit.js'
import type {Report} from '../../src/engine/types.js'

const S = 'S3cr3t-canary'

describe('redact', () => {
  const cases: Array<[string, string]> = [
    [`https://elastic:${S}@es.example:9200/x`, 'https://[REDACTED]@es.example:9200/x'],
    [`https://${S}@es.example`, 'https://[REDACTED]@es.example'],
    [`https://u:p@${S}@host:1`, 'https://[REDACTED]@host:1'],
    [`elastic:${S}@es.example:9200`, '[REDACTED]@es.example:9200'],
    [`cannot reach "elastic:${S}@10.0.0.1:9200"`, 'cannot reach "[REDACTED]@10.0.0.1:9200"'],
    [`got elastic:${S}@host`, 'got [REDACTED]@host'],
    [`https://es:9200/?apikey=${S}&pretty`, 'https://es:9200/?apikey=[REDACTED]&pretty'],
    [`https://h/p?x=1&api_key=${S}`, 'https://h/p?x=1&api_key=[REDACTED]'],
    [`https://h/p?access_token=${S}#f`, 'https://h/p?access_token=[REDACTED]#f'],
    [`https://h/p?sig=${S}&signature=${S}&X-Amz-Signature=${S}`, 'https://h/p?sig=[REDACTED]&signature=[REDACTED]&X-Amz-Signature=[REDACTED]'],
    [`https://h/p?password=${S}&secret=${S}&token=${S}`, 'https://h/p?password=[REDACTED]&secret=[REDACTED]&token=[REDACTED]'],
    [`Authorization: Bearer ${S}`, 'Authorization: Bearer [REDACTED]'],
    [`authorization: ${S}`, 'authorization: [REDACTED]'],
    [`{"authorization":"ApiKey ${S}"}`, '{"authorization":"ApiKey [REDACTED]"}'],
    [`sent ApiKey ${S}==`, 'sent ApiKey [REDACTED]'],
    [`sent Basic ZWxhc3RpYzpjaGFuZ2VtZQ==`, 'sent Basic [REDACTED]'],
    [`token: ${S}`, 'token: [REDACTED]'],
    [`client-key-data: ${S}`, 'client-key-data: [REDACTED]'],
  ]
  for (const [input, want] of cases) it(input, () => expect(redact(input)).toBe(want))

  it('leaves ordinary text, URLs and e-mail-like names alone', () => {
    for (const t of ['https://es.example:9200/_cluster/health?timeout=5s', 'Basic authentication failed', 'run tetractl setup --policies network,file', 'git@github.com', 'kube-system/tetragon-abc:54321', 'tetractl@1.0.0', 'Bearer token expired']) {
      expect(redact(t)).toBe(t)
    }
  })

  it('is idempotent', () => {
    for (const [input] of cases) expect(redact(redact(input))).toBe(redact(input))
  })

  it('redactDeep: every string of a document, and credential-named fields', () => {
    const doc = {target: {server: `https://admin:${S}@10.0.0.1:6443`}, list: [`?token=${S}`], password: S, n: 1, ok: true, nil: null}
    expect(JSON.stringify(redactDeep(doc))).not.toContain(S)
    expect(redactDeep(doc)).toMatchObject({target: {server: 'https://[REDACTED]@10.0.0.1:6443'}, password: '[REDACTED]', n: 1, ok: true, nil: null})
  })
})

describe('terminalSafe', () => {
  const hostile = '\u001b[2J\u001b[H\u001b]0;pwned\u0007\u2714 es.dataset all good\u001b[0m\r\u0008\u009b31m\u009d0;t\u009c\u202eevil'
  it('removes CSI, OSC, C1 and C0 but newline and tab', () => {
    expect(terminalSafe(hostile)).toBe('\u2714 es.dataset all goodevil')
    expect(terminalSafe('a\tb\nc')).toBe('a\tb\nc')
    expect(terminalSafe('\u001bP1;2|x\u001b\\after')).toBe('after')
  })
  it('JSON keeps control characters, escaped', () => {
    const json = escapeJsonControls(JSON.stringify({m: hostile}))
    expect(json).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/)
    expect(JSON.parse(json).m).toBe(hostile)
  })
})

describe('reporters', () => {
  const report: Report = {
    tool: 'tetractl',
    command: 'doctor',
    version: '0.0.0',
    startedAt: new Date(0).toISOString(),
    durationMs: 1,
    target: {server: `https://u:${S}@h`},
    summary: {pass: 0, warn: 0, fail: 1, skip: 0, notEvaluated: 0},
    checks: [
      {
        id: 'es.dataset',
        layer: 'elastic',
        title: 't',
        status: 'fail',
        durationMs: 1,
        message: `search failed: \u001b[2J\u001b]0;pwned\u0007\n  \u2714 es.dataset all good (https://elastic:${S}@es:9200/?apikey=${S})`,
        hint: `curl -H "Authorization: ApiKey ${S}" \u001b[31mx`,
        evidence: {url: `https://es:9200/?token=${S}`, reason: '\u001b[1mbold'},
      },
    ],
    exitCode: 1,
  } as Report

  it('human (-v): no escape sequence, no secret, a message line cannot pose as a result line', () => {
    const out = renderHuman(report, {color: false, verbose: true})
    expect(out).not.toMatch(/[\u001b\u0007\u009b]/)
    expect(out).not.toContain(S)
    expect(out.split('\n').some((l) => /^ {2}\u2714 es\.dataset/.test(l))).toBe(false)
  })
  it('JUnit and GitHub annotations: no escape sequence, no secret', () => {
    for (const out of [renderJunit(report), renderGithubAnnotations(report).join('\n')]) {
      expect(out).not.toMatch(/[\u001b\u0007\u009b]/)
      expect(out).not.toContain(S)
    }
  })
})
