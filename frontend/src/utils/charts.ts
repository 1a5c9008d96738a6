/** Chart.js, registered once with only the parts the analytics page draws (tree-shaken). */

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js'

let registered = false

export function registerCharts(): void {
  if (registered) return
  Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend)
  registered = true
}

/** Outcome colours, matching the status chips. */
export const CHART_COLORS = {
  success: '#21ba45',
  failed: '#c10015',
  missed_window: '#e65100',
  skipped: '#757575',
  p50: '#1976d2',
  p95: '#7b1fa2',
} as const
