/** Options of a searchable time-zone select (the schedule and maintenance-window editors). */

import { ref } from 'vue'

import { timeZoneOptions } from '../utils/scheduleForm'

export function useTimeZoneSelect() {
  const allZones = ref<string[]>(timeZoneOptions())
  const zoneOptions = ref<string[]>(allZones.value)

  /** Start over with UTC and `extra` (the zone being edited) first. */
  function reset(extra: readonly (string | null | undefined)[] = []): void {
    allZones.value = timeZoneOptions(extra)
    zoneOptions.value = allZones.value
  }

  /** QSelect's `@filter`: "new york" finds America/New_York. */
  function filterZones(text: string, update: (fn: () => void) => void): void {
    update(() => {
      const needle = text.trim().toLowerCase().replace(/\s+/g, '_')
      zoneOptions.value = needle ? allZones.value.filter((zone) => zone.toLowerCase().includes(needle)) : allZones.value
    })
  }

  return { zoneOptions, reset, filterZones }
}
