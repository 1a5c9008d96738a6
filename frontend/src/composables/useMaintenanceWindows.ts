/** All maintenance windows, for the schedules page. */

import { ref } from 'vue'

import { errorMessage } from '../api/client'
import { listWindows, type MaintenanceWindow } from '../api/windows'

export function useMaintenanceWindows() {
  const windows = ref<MaintenanceWindow[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      windows.value = await listWindows()
    } catch (e) {
      error.value = errorMessage(e)
    } finally {
      loading.value = false
    }
  }

  return { windows, loading, error, load }
}
