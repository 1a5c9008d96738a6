import { describe, expect, it } from 'vitest'

import { addDays, daysBetween, mondayWeekdayIndex } from './time'
import { daysInMonth, monthGrid, monthOf, shiftMonth } from './monthGrid'

function checkInvariants(year: number, month: number) {
  const grid = monthGrid(year, month)
  expect(mondayWeekdayIndex(grid.start)).toBe(0)
  expect(mondayWeekdayIndex(grid.end)).toBe(6)
  expect(grid.days).toBe(grid.cells.length)
  expect(grid.days % 7).toBe(0)
  expect(grid.weeks).toHaveLength(grid.days / 7)
  expect(grid.weeks.every((week) => week.length === 7)).toBe(true)
  expect(grid.cells[0]!.date).toBe(grid.start)
  expect(grid.cells.at(-1)!.date).toBe(grid.end)
  expect(daysBetween(grid.start, grid.end) + 1).toBe(grid.days)
  // consecutive dates
  grid.cells.forEach((cell, i) => expect(cell.date).toBe(addDays(grid.start, i)))
  // the whole month is inside, flagged inMonth, and nothing else is
  const inMonth = grid.cells.filter((c) => c.inMonth)
  expect(inMonth).toHaveLength(daysInMonth(year, month))
  expect(inMonth.map((c) => c.day)).toEqual(Array.from({ length: daysInMonth(year, month) }, (_, i) => i + 1))
  // no full week of other months' days
  expect(grid.weeks[0]!.some((c) => c.inMonth)).toBe(true)
  expect(grid.weeks.at(-1)!.some((c) => c.inMonth)).toBe(true)
  return grid
}

describe('monthGrid', () => {
  it('starts weeks on Monday (November 2026 starts on a Sunday)', () => {
    const grid = checkInvariants(2026, 11)
    expect(grid.start).toBe('2026-10-26')
    expect(grid.cells[6]).toEqual({ date: '2026-11-01', day: 1, inMonth: true })
    expect(grid.cells[5]).toEqual({ date: '2026-10-31', day: 31, inMonth: false })
    expect(grid.end).toBe('2026-12-06')
    expect(grid.days).toBe(42)
  })

  it('February 2027 starts on a Monday and fits in exactly 4 weeks', () => {
    const grid = checkInvariants(2027, 2)
    expect(grid.start).toBe('2027-02-01')
    expect(grid.end).toBe('2027-02-28')
    expect(grid.days).toBe(28)
    expect(grid.cells.every((c) => c.inMonth)).toBe(true)
  })

  it('leap February 2028 has 29 days (starts on a Tuesday)', () => {
    const grid = checkInvariants(2028, 2)
    expect(grid.start).toBe('2028-01-31')
    expect(grid.cells.some((c) => c.date === '2028-02-29' && c.inMonth)).toBe(true)
    expect(grid.end).toBe('2028-03-05')
    expect(grid.days).toBe(35)
  })

  it('a month starting on Sunday with 31 days needs 6 weeks (August 2027)', () => {
    const grid = checkInvariants(2027, 8)
    expect(grid.start).toBe('2027-07-26')
    expect(grid.end).toBe('2027-09-05')
    expect(grid.days).toBe(42)
  })

  it('crosses the year boundary', () => {
    const grid = checkInvariants(2026, 12)
    expect(grid.start).toBe('2026-11-30')
    expect(grid.end).toBe('2027-01-03')
    expect(checkInvariants(2027, 1).start).toBe('2026-12-28')
  })

  it('holds for every month of several years', () => {
    for (let year = 2024; year <= 2032; year++) {
      for (let month = 1; month <= 12; month++) checkInvariants(year, month)
    }
  })

  it('rejects invalid months', () => {
    expect(() => monthGrid(2026, 0)).toThrow(RangeError)
    expect(() => monthGrid(2026, 13)).toThrow(RangeError)
  })
})

describe('shiftMonth / monthOf / daysInMonth', () => {
  it('moves across years both ways', () => {
    expect(shiftMonth(2026, 12, 1)).toEqual({ year: 2027, month: 1 })
    expect(shiftMonth(2027, 1, -1)).toEqual({ year: 2026, month: 12 })
    expect(shiftMonth(2026, 11, 0)).toEqual({ year: 2026, month: 11 })
    expect(shiftMonth(2026, 3, -15)).toEqual({ year: 2024, month: 12 })
  })

  it('reads the month of a date', () => {
    expect(monthOf('2026-11-30')).toEqual({ year: 2026, month: 11 })
  })

  it('knows month lengths and leap years', () => {
    expect(daysInMonth(2027, 2)).toBe(28)
    expect(daysInMonth(2028, 2)).toBe(29)
    expect(daysInMonth(2100, 2)).toBe(28)
    expect(daysInMonth(2000, 2)).toBe(29)
    expect(daysInMonth(2026, 4)).toBe(30)
    expect(daysInMonth(2026, 12)).toBe(31)
  })
})
