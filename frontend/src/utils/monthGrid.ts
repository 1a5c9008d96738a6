/** Month-grid maths for the schedule calendar: Monday-first weeks covering a whole month. */

import { addDays, type IsoDate, mondayWeekdayIndex, parseIsoDate, toIsoDate } from './time'

export interface MonthGridCell {
  /** `YYYY-MM-DD` */
  date: IsoDate
  /** Day of the month, 1..31 */
  day: number
  /** False for the leading/trailing days of the neighbouring months. */
  inMonth: boolean
}

export interface MonthGrid {
  year: number
  /** 1..12 */
  month: number
  /** First cell of the grid (a Monday), the `start` of the calendar API window. */
  start: IsoDate
  /** Last cell of the grid (a Sunday). */
  end: IsoDate
  /** Number of cells, the `days` of the calendar API window (28, 35 or 42). */
  days: number
  cells: MonthGridCell[]
  /** The cells split into rows of seven. */
  weeks: MonthGridCell[][]
}

/** Days in `month` (1..12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/**
 * The grid for `month` (1..12) of `year`: whole Monday-to-Sunday weeks, as many
 * as the month needs (4 to 6), from the Monday on or before the 1st to the
 * Sunday on or after the last day.
 */
export function monthGrid(year: number, month: number): MonthGrid {
  if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1 || month > 12) {
    throw new RangeError(`Invalid month ${year}-${month}`)
  }
  const first = toIsoDate(year, month, 1)
  const last = toIsoDate(year, month, daysInMonth(year, month))
  const start = addDays(first, -mondayWeekdayIndex(first))
  const end = addDays(last, 6 - mondayWeekdayIndex(last))

  const cells: MonthGridCell[] = []
  for (let date = start; date <= end; date = addDays(date, 1)) {
    const parts = parseIsoDate(date)
    cells.push({ date, day: parts.day, inMonth: parts.year === year && parts.month === month })
  }
  const weeks: MonthGridCell[][] = []
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7))

  return { year, month, start, end, days: cells.length, cells, weeks }
}

/** The month after (`delta` = 1) or before (`delta` = -1) a year/month pair. */
export function shiftMonth(year: number, month: number, delta: number): { year: number; month: number } {
  const index = year * 12 + (month - 1) + delta
  return { year: Math.floor(index / 12), month: (index % 12 + 12) % 12 + 1 }
}

/** The year/month pair of a `YYYY-MM-DD` date. */
export function monthOf(date: IsoDate): { year: number; month: number } {
  const { year, month } = parseIsoDate(date)
  return { year, month }
}
