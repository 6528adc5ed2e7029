// Every fixture line of an open-source event type survives JSON → protobuf bytes → JSON unchanged
// (JSON export encoding rules); the pre-OSS book samples are reported, never crash (unknown fields are tolerated).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, test} from 'vitest'
import {encodeEventJson, inspectEventJson, inspectExportLines, type JsonIssue, type JsonObject} from '../../src/tetragon/json.js'
import {decodeEventBytes} from '../../src/tetragon/reference-json.js'

const DIR = fileURLToPath(new URL('../fixtures/tetragon-events', import.meta.url))
const texts = (file: string) => readFileSync(`${DIR}/${file}`, 'utf8').split('\n').filter((l) => l.trim() !== '')
const lines = (file: string) => texts(file).map((l) => JSON.parse(l) as JsonObject)

const OSS = ['process_exec.jsonl', 'process_exit.jsonl', 'process_kprobe_file.jsonl', 'process_kprobe_misc.jsonl', 'process_throttle.jsonl']
const COUNTS: Record<string, number> = {
  'process_exec.jsonl': 6, 'process_exit.jsonl': 1, 'process_kprobe_file.jsonl': 4, 'process_kprobe_misc.jsonl': 10,
  'process_throttle.jsonl': 2,
}

describe('fixtures round trip through the real protobuf types', () => {
  for (const file of OSS) {
    test(file, () => {
      const events = lines(file)
      expect(events).toHaveLength(COUNTS[file]!) // SOURCES.md line counts
      events.forEach((original, i) => {
        const issues: JsonIssue[] = []
        const bytes = encodeEventJson(original, 'current', issues)
        expect(issues, `${file}:${i + 1}`).toEqual([])
        expect(bytes.length).toBeGreaterThan(20)
        const back = decodeEventBytes(bytes)
        expect(back, `${file}:${i + 1}`).toEqual(original)
      })
    })
  }

  // The lines are protojson output (or doc blocks re-serialised in their key order, SOURCES.md): the reference
  // decoder (@bufbuild/protobuf) must give back the very text, key order included.
  test('the reference decoder reproduces every fixture line byte for byte (23 of 23)', () => {
    let same = 0
    for (const file of OSS) {
      texts(file).forEach((text, i) => {
        expect(JSON.stringify(decodeEventBytes(encodeEventJson(JSON.parse(text) as JsonObject))), `${file}:${i + 1}`).toBe(text)
        same++
      })
    }
    expect(same).toBe(23)
  })
})

describe('legacy pre-OSS book samples', () => {
  test('unknown event types and keys are listed per line, never thrown', () => {
    const events = lines('legacy_preoss_book.jsonl')
    expect(events).toHaveLength(40)
    const report = events.map((e, i) => {
      const {kind, issues} = inspectEventJson(e)
      return {line: i + 1, kind, unknownTypes: issues.filter((x) => x.kind === 'unknown-event').map((x) => x.path), unknownKeys: issues.filter((x) => x.kind === 'unknown-key').map((x) => x.path)}
    })
    // Line 2 is process_connect (non-OSS), line 1 process_close, line 6 process_listen (SOURCES.md).
    expect(report[0]).toMatchObject({kind: undefined, unknownTypes: ['process_close']})
    expect(report[1]).toMatchObject({kind: undefined, unknownTypes: ['process_connect']})
    expect(report[5]).toMatchObject({kind: undefined, unknownTypes: ['process_listen']})
    expect(report[2]!.kind).toBe('process_exec')
    const nonOss = report.filter((r) => r.unknownTypes.length > 0).map((r) => r.unknownTypes[0])
    expect(new Set(nonOss)).toEqual(new Set(['process_close', 'process_connect', 'process_listen']))
    // Every line is either a known OSS type or reported as unknown.
    for (const r of report) expect(r.kind !== undefined || r.unknownTypes.length > 0).toBe(true)
  })

  test('inspectExportLines: per-line report of the raw file, garbage included', () => {
    const text = readFileSync(`${DIR}/legacy_preoss_book.jsonl`, 'utf8') + 'not json\n{"process_exec":{"process":{"pid":"x","wat":1}}}\n'
    const report = inspectExportLines(text)
    expect(report).toHaveLength(42)
    expect(report.filter((r) => r.unknownTypes.length > 0).length).toBeGreaterThan(5)
    expect(report[40]).toMatchObject({line: 41, parseError: expect.any(String)})
    expect(report[41]).toMatchObject({kind: 'process_exec', unknownKeys: ['process_exec.process.wat']})
    expect(report[41]!.badValues[0]).toMatch(/process_exec\.process\.pid/)
    const oss = inspectExportLines(readFileSync(`${DIR}/process_kprobe_misc.jsonl`, 'utf8'))
    expect(oss.every((r) => r.kind === 'process_kprobe' && r.unknownKeys.length + r.unknownTypes.length + r.badValues.length === 0)).toBe(true)
  })
})
