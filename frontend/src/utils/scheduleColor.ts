/** A stable badge colour per schedule, so a schedule looks the same every day and every visit. */

/** Quasar palette classes (`bg-*`) that keep white text readable. */
export const SCHEDULE_COLORS = [
  'blue-8',
  'teal-8',
  'deep-orange-8',
  'purple-7',
  'green-8',
  'indigo-7',
  'pink-7',
  'brown-6',
  'cyan-9',
  'deep-purple-6',
  'light-green-9',
  'blue-grey-7',
] as const

export type ScheduleColor = (typeof SCHEDULE_COLORS)[number]

/** Colour for a schedule id; consecutive ids get different colours. */
export function scheduleColor(scheduleId: number): ScheduleColor {
  const n = SCHEDULE_COLORS.length
  const index = ((Math.trunc(scheduleId) % n) + n) % n
  return SCHEDULE_COLORS[index]!
}
