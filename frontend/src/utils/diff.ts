/** A unified diff (as the API sends it) as rows to draw: unified or side by side. */

export type DiffLineKind = 'header' | 'hunk' | 'add' | 'del' | 'context' | 'note'

export interface DiffLine {
  kind: DiffLineKind
  text: string
  /** Line number in the old version (del and context lines). */
  oldNo: number | null
  /** Line number in the new version (add and context lines). */
  newNo: number | null
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/

/** Each line of `diff` with its kind and old/new line numbers. */
export function parseUnifiedDiff(diff: string): DiffLine[] {
  const out: DiffLine[] = []
  if (!diff) return out
  const lines = diff.replace(/\n$/, '').split('\n')
  let oldNo = 0
  let newNo = 0
  let inHunk = false
  for (const line of lines) {
    const hunk = HUNK.exec(line)
    if (hunk) {
      oldNo = Number(hunk[1])
      newNo = Number(hunk[2])
      inHunk = true
      out.push({ kind: 'hunk', text: line, oldNo: null, newNo: null })
    } else if (!inHunk) {
      out.push({ kind: 'header', text: line, oldNo: null, newNo: null })
    } else if (line.startsWith('+')) {
      out.push({ kind: 'add', text: line.slice(1), oldNo: null, newNo: newNo++ })
    } else if (line.startsWith('-')) {
      out.push({ kind: 'del', text: line.slice(1), oldNo: oldNo++, newNo: null })
    } else if (line.startsWith('\\')) {
      out.push({ kind: 'note', text: line, oldNo: null, newNo: null })
    } else {
      out.push({ kind: 'context', text: line.slice(1), oldNo: oldNo++, newNo: newNo++ })
    }
  }
  return out
}

export interface DiffStats {
  added: number
  removed: number
}

export function diffStats(lines: readonly DiffLine[]): DiffStats {
  return {
    added: lines.filter((l) => l.kind === 'add').length,
    removed: lines.filter((l) => l.kind === 'del').length,
  }
}

/** One row of the side-by-side view: the old line on the left, the new on the right. */
export interface SideBySideRow {
  kind: 'hunk' | 'change' | 'context'
  left: DiffLine | null
  right: DiffLine | null
}

/**
 * Pair the lines for two columns: context on both sides, a run of deletions next to the
 * run of additions that follows it (the shorter side padded with blanks). File headers
 * and "\ No newline" notes are left out.
 */
export function sideBySide(lines: readonly DiffLine[]): SideBySideRow[] {
  const rows: SideBySideRow[] = []
  let dels: DiffLine[] = []
  let adds: DiffLine[] = []
  const flush = () => {
    const n = Math.max(dels.length, adds.length)
    for (let i = 0; i < n; i++) rows.push({ kind: 'change', left: dels[i] ?? null, right: adds[i] ?? null })
    dels = []
    adds = []
  }
  for (const line of lines) {
    if (line.kind === 'del') {
      if (adds.length) flush()
      dels.push(line)
    } else if (line.kind === 'add') {
      adds.push(line)
    } else {
      flush()
      if (line.kind === 'hunk') rows.push({ kind: 'hunk', left: line, right: line })
      else if (line.kind === 'context') rows.push({ kind: 'context', left: line, right: line })
    }
  }
  flush()
  return rows
}

/** The 1-based numbers of the lines of `text` that contain `query` (any case); none for an empty query. */
export function matchingLines(text: string, query: string): number[] {
  const needle = query.trim().toLowerCase()
  if (!needle) return []
  const out: number[] = []
  text.split('\n').forEach((line, index) => {
    if (line.toLowerCase().includes(needle)) out.push(index + 1)
  })
  return out
}
