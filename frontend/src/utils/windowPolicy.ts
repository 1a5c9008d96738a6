/** Colours and words of the maintenance-window policies, shared by the schedules page and the calendar. */

import type { WindowPolicy } from '../api/windows'

/** Quasar colours: skip is a stop, defer a wait. */
export const WINDOW_POLICY_COLORS: Record<WindowPolicy, string> = {
  skip: 'red-7',
  defer: 'amber-8',
}

export const WINDOW_POLICY_HELP: Record<WindowPolicy, string> = {
  skip: 'Backups inside the window are skipped (skipped: maintenance)',
  defer: 'Backups inside the window run when it ends',
}
