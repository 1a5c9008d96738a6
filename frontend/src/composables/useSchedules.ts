/** All backup schedules, as options for the schedule selects. */

import { ref } from 'vue'

import { errorMessage } from '../api/client'
import { type BackupSchedule, listSchedules } from '../api/schedules'

export function useSchedules() {
  const schedules = ref<BackupSchedule[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      schedules.value = await listSchedules()
    } catch (e) {
      error.value = errorMessage(e)
    } finally {
      loading.value = false
    }
  }

  return { schedules, loading, error, load }
}
