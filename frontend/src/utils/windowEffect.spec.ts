import { describe, expect, it } from 'vitest'

import type { MaintenanceWindow } from '../api/windows'
import { describeRunEffect, heldUntil, holdingWindows, type HoldingWindow, runEffect, windowSpans } from './windowEffect'

const d = (iso: string) => new Date(iso)

function holding(name: string, policy: 'skip' | 'defer', spans: [string, string][], everything = true): HoldingWindow {
  return { name, policy, everything, spans: spans.map(([start, end]) => ({ start: d(start), end: d(end) })) }
}

function apiWindow(fields: Partial<MaintenanceWindow>): MaintenanceWindow {
  return {
    id: 1,
    name: 'W',
    enabled: true,
    timezone: null,
    schedule_type: 'daily',
    start: null,
    hour: 1,
    minute: 30,
    day_of_week: null,
    day_of_month: null,
    cron_expression: '',
    duration_minutes: 60,
    policy: 'defer',
    device_groups: [],
    collection_groups: [],
    next_spans: [],
    ...fields,
  }
}

const RUN = d('2027-06-01T02:00:00Z')

describe('heldUntil', () => {
  const w = holding('W', 'skip', [['2027-06-01T02:00:00Z', '2027-06-01T03:00:00Z']])

  it('holds from the start inclusive to the end exclusive', () => {
    expect(heldUntil(w, d('2027-06-01T01:59:59Z'))).toBeNull()
    expect(heldUntil(w, d('2027-06-01T02:00:00Z'))).toEqual(d('2027-06-01T03:00:00Z'))
    expect(heldUntil(w, d('2027-06-01T02:59:59Z'))).toEqual(d('2027-06-01T03:00:00Z'))
    expect(heldUntil(w, d('2027-06-01T03:00:00Z'))).toBeNull()
  })

  it('takes the latest end of overlapping instances', () => {
    const overlapping = holding('W', 'defer', [
      ['2027-06-01T01:00:00Z', '2027-06-01T03:00:00Z'],
      ['2027-06-01T01:30:00Z', '2027-06-01T03:30:00Z'],
    ])
    expect(heldUntil(overlapping, RUN)).toEqual(d('2027-06-01T03:30:00Z'))
  })
})

describe('runEffect', () => {
  it('runs when no window holds it', () => {
    const far = holding('Far', 'skip', [['2027-06-02T00:00:00Z', '2027-06-02T04:00:00Z']])
    expect(runEffect(RUN, [far])).toEqual({ fate: 'run', firesAt: RUN, window: null, scoped: [] })
  })

  it('skip wins over defer', () => {
    const defer = holding('Late', 'defer', [['2027-06-01T01:00:00Z', '2027-06-01T05:00:00Z']])
    const skip = holding('Patch', 'skip', [['2027-06-01T01:30:00Z', '2027-06-01T02:30:00Z']])
    expect(runEffect(RUN, [defer, skip])).toEqual({ fate: 'skip', firesAt: RUN, window: 'Patch', scoped: [] })
  })

  it('of several defer windows, the latest end', () => {
    const a = holding('A', 'defer', [['2027-06-01T01:00:00Z', '2027-06-01T04:00:00Z']])
    const b = holding('B', 'defer', [['2027-06-01T01:30:00Z', '2027-06-01T02:30:00Z']])
    const effect = runEffect(RUN, [b, a])
    expect(effect).toMatchObject({ fate: 'defer', window: 'A', scoped: [] })
    expect(effect.firesAt).toEqual(d('2027-06-01T04:00:00Z'))
  })

  it('a run at a window end is not held (end exclusive), one at its start is', () => {
    expect(runEffect(RUN, [holding('Ends', 'skip', [['2027-06-01T01:00:00Z', '2027-06-01T02:00:00Z']])]).fate).toBe('run')
    expect(runEffect(RUN, [holding('Starts', 'skip', [['2027-06-01T02:00:00Z', '2027-06-01T02:01:00Z']])]).fate).toBe('skip')
  })

  it('a window scoped to groups leaves the run to the others and names its devices', () => {
    const scopedSkip = holding('Core patch', 'skip', [['2027-06-01T01:00:00Z', '2027-06-01T03:00:00Z']], false)
    const scopedDefer = holding('Branch', 'defer', [['2027-06-01T01:00:00Z', '2027-06-01T05:00:00Z']], false)
    expect(runEffect(RUN, [scopedSkip, scopedDefer])).toEqual({
      fate: 'run',
      firesAt: RUN,
      window: null,
      scoped: [
        { name: 'Core patch', policy: 'skip', until: null },
        { name: 'Branch', policy: 'defer', until: d('2027-06-01T05:00:00Z') },
      ],
    })
  })

  it('with a whole-fleet defer, a scoped skip still skips its devices; a scoped defer counts only when it ends later', () => {
    const whole = holding('Night', 'defer', [['2027-06-01T01:00:00Z', '2027-06-01T03:00:00Z']])
    const skip = holding('Core patch', 'skip', [['2027-06-01T01:30:00Z', '2027-06-01T02:30:00Z']], false)
    const earlier = holding('Short', 'defer', [['2027-06-01T01:30:00Z', '2027-06-01T02:30:00Z']], false)
    const later = holding('Long', 'defer', [['2027-06-01T01:30:00Z', '2027-06-01T06:00:00Z']], false)
    const effect = runEffect(RUN, [whole, skip, earlier, later])
    expect(effect.fate).toBe('defer')
    expect(effect.firesAt).toEqual(d('2027-06-01T03:00:00Z'))
    expect(effect.scoped.map((s) => s.name)).toEqual(['Core patch', 'Long'])
  })

  it('a whole-fleet skip makes the scoped windows moot', () => {
    const whole = holding('Freeze', 'skip', [['2027-06-01T00:00:00Z', '2027-06-02T00:00:00Z']])
    const scoped = holding('Core', 'defer', [['2027-06-01T01:00:00Z', '2027-06-01T05:00:00Z']], false)
    expect(runEffect(RUN, [scoped, whole])).toEqual({ fate: 'skip', firesAt: RUN, window: 'Freeze', scoped: [] })
  })
})

describe('holdingWindows and windowSpans', () => {
  const FROM = d('2027-06-01T00:00:00Z')
  const UNTIL = d('2027-06-06T00:00:00Z')

  it('ignores disabled windows and reads the scope from the group lists', () => {
    const windows = holdingWindows(
      [
        apiWindow({ name: 'Off', enabled: false }),
        apiWindow({ name: 'All' }),
        apiWindow({ name: 'Core', device_groups: [3] }),
        apiWindow({ name: 'DC1', collection_groups: [1] }),
      ],
      'UTC',
      FROM,
      UNTIL,
    )
    expect(windows.map((w) => [w.name, w.everything])).toEqual([
      ['All', true],
      ['Core', false],
      ['DC1', false],
    ])
    expect(runEffect(d('2027-06-03T01:45:00Z'), windows).fate).toBe('defer')
  })

  it('works out the starts of a recurring window beyond the server’s three spans, in its zone', () => {
    const window = apiWindow({
      timezone: 'Australia/Sydney',
      hour: 1,
      minute: 30,
      next_spans: [{ start: '2027-05-31T15:30:00Z', end: '2027-05-31T16:30:00Z' }],
    })
    const spans = windowSpans(window, 'UTC', FROM, UNTIL)
    // 01:30 AEST is 15:30 UTC the day before, every day (no DST change in June).
    expect(spans.map((s) => s.start.toISOString())).toEqual([
      '2027-05-31T15:30:00.000Z',
      '2027-06-01T15:30:00.000Z',
      '2027-06-02T15:30:00.000Z',
      '2027-06-03T15:30:00.000Z',
      '2027-06-04T15:30:00.000Z',
      '2027-06-05T15:30:00.000Z',
    ])
    expect(spans[0]!.end.toISOString()).toBe('2027-05-31T16:30:00.000Z')
  })

  it('includes an instance that started before `from` and still holds it', () => {
    const spans = windowSpans(apiWindow({ hour: 23, minute: 0, duration_minutes: 120 }), 'UTC', FROM, d('2027-06-01T12:00:00Z'))
    expect(spans.map((s) => s.start.toISOString())).toEqual(['2027-05-31T23:00:00.000Z'])
  })

  it('has only the server’s spans for a one-off window or a cron the preview does not understand', () => {
    const once = apiWindow({
      schedule_type: 'once',
      start: '2027-06-02T22:00:00Z',
      next_spans: [{ start: '2027-06-02T22:00:00Z', end: '2027-06-02T23:00:00Z' }],
    })
    expect(windowSpans(once, 'UTC', FROM, UNTIL)).toHaveLength(1)
    const cron = apiWindow({ schedule_type: 'cron', cron_expression: '0 22 L * *', next_spans: [] })
    expect(windowSpans(cron, 'UTC', FROM, UNTIL)).toEqual([])
  })
})

describe('describeRunEffect', () => {
  const run = d('2027-06-01T02:00:00Z')

  it('says skipped, deferred to the end in the schedule’s zone, and what happens to scoped devices', () => {
    const effect = runEffect(run, [
      holding('Night', 'defer', [['2027-06-01T01:00:00Z', '2027-06-01T03:00:00Z']]),
      holding('Core patch', 'skip', [['2027-06-01T01:30:00Z', '2027-06-01T02:30:00Z']], false),
      holding('Branch', 'defer', [['2027-06-01T01:30:00Z', '2027-06-01T04:15:00Z']], false),
    ])
    expect(describeRunEffect(effect, run, 'UTC', 'UTC')).toEqual([
      { policy: 'defer', everything: true, text: 'Deferred to 03:00 (end of “Night”)' },
      { policy: 'skip', everything: false, text: 'Devices of “Core patch”\'s groups are skipped' },
      { policy: 'defer', everything: false, text: 'Devices of “Branch”\'s groups are deferred to 04:15' },
    ])
    const skipped = runEffect(run, [holding('Freeze', 'skip', [['2027-06-01T00:00:00Z', '2027-06-02T00:00:00Z']])])
    expect(describeRunEffect(skipped, run, 'UTC', 'UTC')).toEqual([
      { policy: 'skip', everything: true, text: 'Skipped: inside maintenance window “Freeze”' },
    ])
  })

  it('adds the display zone when it is another, and the date when the end is on another day', () => {
    const effect = runEffect(run, [holding('Long', 'defer', [['2027-06-01T01:00:00Z', '2027-06-02T03:00:00Z']])])
    // Berlin: run 04:00 on 1 June, end 05:00 on 2 June; Sydney: 12:00 and 13:00 on 2 June.
    expect(describeRunEffect(effect, run, 'Europe/Berlin', 'Australia/Sydney')[0]!.text).toBe(
      'Deferred to Wed 2 Jun 2027 at 05:00 (end of “Long”) · Australia/Sydney: Wed 2 Jun 2027 at 13:00',
    )
  })
})
