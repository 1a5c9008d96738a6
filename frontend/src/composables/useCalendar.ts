/** State of the schedule calendar: the visible month, its grid, the API window and auto-refresh. */

import { computed, onBeforeUnmount, onMounted, type Ref, ref, watch } from 'vue'

import { fetchCalendar, type CalendarDays, type CalendarEntry } from '../api/calendar'
import { errorMessage } from '../api/client'
import { fetchWindowCalendar, type WindowCalendarDays, type WindowCalendarSpan } from '../api/windows'
import { monthGrid, monthOf, shiftMonth } from '../utils/monthGrid'
import { formatMonthTitle, todayInTimeZone } from '../utils/time'

export const CALENDAR_REFRESH_MS = 5 * 60 * 1000

export interface UseCalendarOptions {
  /** Zone that decides "today" (the server's display time zone, not the browser's). */
  timeZone: Ref<string>
  refreshMs?: number
  /** Injected clock for tests. */
  now?: () => Date
}

export function useCalendar(options: UseCalendarOptions) {
  const clock = options.now ?? (() => new Date())
  const refreshMs = options.refreshMs ?? CALENDAR_REFRESH_MS

  const today = ref(todayInTimeZone(options.timeZone.value, clock()))
  const initial = monthOf(today.value)
  const year = ref(initial.year)
  const month = ref(initial.month)

  const grid = computed(() => monthGrid(year.value, month.value))
  const title = computed(() => formatMonthTitle(year.value, month.value))

  const data = ref<CalendarDays | null>(null)
  /** The grid window `data` belongs to, so stale data is never shown against another month. */
  const dataWindow = ref<string | null>(null)
  /** The maintenance windows' spans of the same grid; their failure leaves the backups shown. */
  const windowData = ref<WindowCalendarDays | null>(null)
  const windowsError = ref<string | null>(null)
  /** Bumped after each successful load (the page re-reads what it shows beside the calendar). */
  const loadCount = ref(0)
  const loading = ref(false)
  const error = ref<string | null>(null)

  let controller: AbortController | null = null

  const windowKey = computed(() => `${grid.value.start}/${grid.value.days}`)

  async function load(): Promise<void> {
    today.value = todayInTimeZone(options.timeZone.value, clock())
    const { start, days } = grid.value
    const key = windowKey.value
    controller?.abort()
    const mine = new AbortController()
    controller = mine
    loading.value = true
    error.value = null
    // Both requests go out together; the windows' answer is waited for only with the backups'.
    const windows = fetchWindowCalendar(start, days, mine.signal).then(
      (answer) => ({ answer, failure: null }),
      (failure: unknown) => ({ answer: null, failure }),
    )
    try {
      const result = await fetchCalendar(start, days, mine.signal)
      const spans = await windows
      if (controller !== mine) return
      data.value = result
      windowData.value = spans.answer
      windowsError.value = spans.failure === null ? null : errorMessage(spans.failure)
      dataWindow.value = key
      loadCount.value += 1
    } catch (e) {
      if (controller !== mine || mine.signal.aborted) return
      error.value = errorMessage(e)
    } finally {
      if (controller === mine) {
        loading.value = false
        controller = null
      }
    }
  }

  function entriesFor(date: string): CalendarEntry[] {
    if (dataWindow.value !== windowKey.value || !data.value) return []
    return data.value[date] ?? []
  }

  /** The maintenance-window spans of a day, by start. */
  function windowsFor(date: string): WindowCalendarSpan[] {
    if (dataWindow.value !== windowKey.value || !windowData.value) return []
    return windowData.value[date] ?? []
  }

  /** True once this month's data is in and none of the month's own days has a backup. */
  const isEmptyMonth = computed(() => {
    if (dataWindow.value !== windowKey.value || !data.value) return false
    return grid.value.cells.every((cell) => !cell.inMonth || (data.value![cell.date] ?? []).length === 0)
  })

  const hasData = computed(() => dataWindow.value === windowKey.value && data.value !== null)

  function goTo(target: { year: number; month: number }): void {
    year.value = target.year
    month.value = target.month
  }

  function previous(): void {
    goTo(shiftMonth(year.value, month.value, -1))
  }

  function next(): void {
    goTo(shiftMonth(year.value, month.value, 1))
  }

  function goToday(): void {
    today.value = todayInTimeZone(options.timeZone.value, clock())
    goTo(monthOf(today.value))
  }

  watch(windowKey, () => {
    void load()
  })
  watch(options.timeZone, () => {
    today.value = todayInTimeZone(options.timeZone.value, clock())
  })

  let timer: ReturnType<typeof setInterval> | undefined
  onMounted(() => {
    void load()
    timer = setInterval(() => {
      void load()
    }, refreshMs)
  })
  onBeforeUnmount(() => {
    if (timer !== undefined) clearInterval(timer)
    controller?.abort()
    controller = null
  })

  return {
    year,
    month,
    title,
    grid,
    today,
    loading,
    error,
    hasData,
    isEmptyMonth,
    entriesFor,
    windowsFor,
    windowsError,
    loadCount,
    load,
    previous,
    next,
    goToday,
  }
}
