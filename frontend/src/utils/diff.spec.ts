import { describe, expect, it } from 'vitest'

import { diffStats, matchingLines, parseUnifiedDiff, sideBySide } from './diff'

const DIFF = [
  '--- backup 1',
  '+++ backup 2',
  '@@ -1,4 +1,4 @@',
  ' hostname r1',
  '-interface Gi0/1',
  '- description old',
  '+interface Gi0/1',
  '+ description uplink',
  '+ mtu 9000',
  ' end',
  '\\ No newline at end of file',
  '',
].join('\n')

describe('parseUnifiedDiff', () => {
  it('numbers the old and new lines from the hunk header', () => {
    const lines = parseUnifiedDiff(DIFF)
    expect(lines.map((l) => l.kind)).toEqual([
      'header', 'header', 'hunk', 'context', 'del', 'del', 'add', 'add', 'add', 'context', 'note',
    ])
    expect(lines[3]).toEqual({ kind: 'context', text: 'hostname r1', oldNo: 1, newNo: 1 })
    expect(lines[5]).toEqual({ kind: 'del', text: ' description old', oldNo: 3, newNo: null })
    expect(lines[8]).toEqual({ kind: 'add', text: ' mtu 9000', oldNo: null, newNo: 4 })
    expect(lines[9]).toMatchObject({ oldNo: 4, newNo: 5 })
    expect(diffStats(lines)).toEqual({ added: 3, removed: 2 })
  })

  it('gives nothing for an empty diff (no change)', () => {
    expect(parseUnifiedDiff('')).toEqual([])
  })
})

describe('sideBySide', () => {
  it('pairs deletions with the additions that follow and pads the shorter side', () => {
    const rows = sideBySide(parseUnifiedDiff(DIFF))
    expect(rows.map((r) => [r.kind, r.left?.text ?? null, r.right?.text ?? null])).toEqual([
      ['hunk', '@@ -1,4 +1,4 @@', '@@ -1,4 +1,4 @@'],
      ['context', 'hostname r1', 'hostname r1'],
      ['change', 'interface Gi0/1', 'interface Gi0/1'],
      ['change', ' description old', ' description uplink'],
      ['change', null, ' mtu 9000'],
      ['context', 'end', 'end'],
    ])
  })
})

describe('matchingLines', () => {
  it('finds the lines containing the query in any case', () => {
    expect(matchingLines('hostname r1\ninterface Gi0/1\n description X\nINTERFACE Gi0/2', 'interface')).toEqual([2, 4])
    expect(matchingLines('a\nb', '  ')).toEqual([])
  })
})
