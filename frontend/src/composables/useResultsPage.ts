/** One page of backup results from the history API, reloadable, with the latest request winning. */

import type { QTableProps } from 'quasar'
import { ref } from 'vue'

import { errorMessage } from '../api/client'
import { type BackupResult, type HistoryQuery, listResults } from '../api/results'

type Pagination = NonNullable<QTableProps['pagination']>

export function useResultsPage(baseQuery: () => HistoryQuery, rowsPerPage = 10) {
  const rows = ref<BackupResult[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  const pagination = ref<Pagination>({ page: 1, rowsPerPage, rowsNumber: 0 })
  let seq = 0

  /** Load `next` (default: the current page); resolves with the rows, or null if superseded or failed. */
  async function load(next: Pagination = pagination.value, quiet = false): Promise<BackupResult[] | null> {
    const mine = ++seq
    if (!quiet) loading.value = true
    try {
      const page = await listResults({ ...baseQuery(), page: next.page ?? 1, page_size: next.rowsPerPage || rowsPerPage })
      if (mine !== seq) return null
      rows.value = page.results
      pagination.value = { ...next, rowsNumber: page.count }
      error.value = null
      return page.results
    } catch (e) {
      if (mine !== seq) return null
      error.value = errorMessage(e)
      return null
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  return { rows, loading, error, pagination, load }
}
