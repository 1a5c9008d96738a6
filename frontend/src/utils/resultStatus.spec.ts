import { describe, expect, it } from 'vitest'

import {
  describeCounts,
  durationSeconds,
  formatBytes,
  formatDuration,
  formatRelative,
  outcomeOf,
  statusColor,
  statusLabel,
} from './resultStatus'

describe('outcomeOf', () => {
  it('calls an occurrence with only successes "succeeded"', () => {
    expect(outcomeOf({ success: 4 })).toBe('succeeded')
  })
  it('lets one failure among successes make it "some failed"', () => {
    expect(outcomeOf({ success: 4, failed: 1, missed_window: 2 })).toBe('some_failed')
  })
  it('calls missed or skipped devices (and no failure) "missed"', () => {
    expect(outcomeOf({ success: 1, missed_window: 1 })).toBe('missed')
    expect(outcomeOf({ skipped: 3 })).toBe('missed')
  })
  it('calls an occurrence without results "nothing ran"', () => {
    expect(outcomeOf({})).toBe('nothing_ran')
    expect(outcomeOf({ success: 0 })).toBe('nothing_ran')
  })
  it('says an occurrence still running is in progress', () => {
    expect(outcomeOf({ success: 1, running: 1 })).toBe('in_progress')
  })
})

describe('wording', () => {
  it('lists the counts in a fixed order', () => {
    expect(describeCounts({ failed: 1, success: 3 })).toBe('3 success, 1 failed')
    expect(describeCounts({})).toBe('no results')
  })
  it('labels and colours every status, and passes an unknown one through', () => {
    expect(statusLabel('missed_window')).toBe('Missed window')
    expect(statusColor('failed')).toBe('negative')
    expect(statusLabel('exploded')).toBe('exploded')
  })
  it('formats durations from milliseconds to hours', () => {
    expect(formatDuration(null)).toBe('—')
    expect(formatDuration(0.25)).toBe('250 ms')
    expect(formatDuration(4.26)).toBe('4.3 s')
    expect(formatDuration(185)).toBe('3 min 05 s')
    expect(formatDuration(3720)).toBe('1 h 02 min')
    expect(durationSeconds('2026-11-10T01:00:00Z', '2026-11-10T01:00:12.5Z')).toBe(12.5)
    expect(durationSeconds(null, '2026-11-10T01:00:00Z')).toBeNull()
  })
  it('says how long ago an instant was', () => {
    const now = new Date('2026-11-10T12:00:00Z')
    expect(formatRelative('2026-11-10T11:59:40Z', now)).toBe('just now')
    expect(formatRelative('2026-11-10T11:55:00Z', now)).toBe('5 minutes ago')
    expect(formatRelative('2026-11-10T09:00:00Z', now)).toBe('3 hours ago')
    expect(formatRelative('2026-11-09T12:00:00Z', now)).toBe('1 day ago')
    expect(formatRelative('2026-11-10T13:00:00Z', now)).toBe('in 1 hour')
  })
  it('formats sizes', () => {
    expect(formatBytes(900)).toBe('900 B')
    expect(formatBytes(2048)).toBe('2.0 KB')
  })
})
