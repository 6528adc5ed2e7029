// Issue #14 item 1: every check doctor runs is shown under one of the terminal's headings.
import {describe, expect, it} from 'vitest'

import {CATEGORIES, CHECK_CATEGORY, NEEDED_FOR} from '../../src/checks/categories.js'
import {checks} from '../../src/checks/index.js'
import {requirementsOf} from '../../src/engine/types.js'

describe('check categories', () => {
  it('every registered check has a category, and the mapping names no check that does not exist', () => {
    const ids = checks.map((c) => c.id)
    expect(ids.filter((id) => !CHECK_CATEGORY[id])).toEqual([])
    expect(Object.keys(CHECK_CATEGORY).filter((id) => !ids.includes(id))).toEqual([])
    for (const cat of Object.values(CHECK_CATEGORY)) expect(CATEGORIES).toContain(cat)
  })

  it('every category has a check, in the documented order', () => {
    expect(CATEGORIES).toEqual(['Kubernetes access', 'Tetragon install', 'gRPC', 'Service and DNS', 'Export', 'Elasticsearch', 'Kibana'])
    for (const cat of CATEGORIES) expect(Object.values(CHECK_CATEGORY)).toContain(cat)
  })

  it('a check other checks require says what they need from it (the collapsed line)', () => {
    // The cluster context (no standalone agent) is where requirements are widest.
    const ctx = {opts: {}} as any
    const required = new Set(checks.flatMap((c) => requirementsOf(c, ctx)))
    expect([...required].filter((id) => !NEEDED_FOR[id]).sort()).toEqual([])
    expect(Object.keys(NEEDED_FOR).filter((id) => !required.has(id))).toEqual([])
  })
})
