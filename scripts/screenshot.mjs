#!/usr/bin/env node
// Renders tmux captures (capture-pane -e: text with colour escapes) as PNG screenshots for the README.
//   TETRACTL_TMUX_CAPTURES=/tmp/caps npm run test:conformance -- test/conformance/terminal/tmux.test.ts
//   node scripts/screenshot.mjs /tmp/caps/doctor-healthy-120x40.ansi docs/doctor-healthy.png
// Needs `aha` (ANSI → HTML) and `wkhtmltoimage` (HTML → PNG): apt-get install -y aha wkhtmltopdf. Not run in CI.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const [input, output] = process.argv.slice(2)
if (!input || !output) {
  console.error('usage: node scripts/screenshot.mjs CAPTURE.ansi OUT.png')
  process.exit(2)
}
const ansi = readFileSync(input, 'utf8')
const columns = Math.max(...ansi.split('\n').map((l) => [...l.replace(/\u001b\[[0-9;]*m/g, '')].length))
// aha turns SGR colours into <span style>; the page around it sets a terminal's look (dark, monospace).
const body = execFileSync('aha', ['--black', '--no-header'], {input: ansi, encoding: 'utf8'})
const fontPx = 14
const charPx = fontPx * 0.602 // DejaVu Sans Mono advance width
const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body { margin: 0; background: #1e1e1e; }
pre { margin: 0; padding: 16px 20px; color: #d4d4d4; font: ${fontPx}px/1.3 'DejaVu Sans Mono', monospace; white-space: pre; }
</style></head><body><pre>${body}</pre></body></html>`
const dir = mkdtempSync(join(tmpdir(), 'tetractl-shot-'))
try {
  const page = join(dir, 'page.html')
  writeFileSync(page, html)
  const width = String(Math.ceil(columns * charPx) + 48)
  execFileSync('wkhtmltoimage', ['--quiet', '--width', width, '--disable-smart-width', '--format', 'png', '--quality', '10', page, output], {
    env: {...process.env, QT_QPA_PLATFORM: process.env.QT_QPA_PLATFORM ?? 'offscreen'},
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  console.log(`${output}: ${columns} columns`)
} finally {
  rmSync(dir, {recursive: true, force: true})
}
