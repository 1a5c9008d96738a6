/** A `Date` ref that ticks, so relative wording ("In 25 minutes") stays current. */

import { onBeforeUnmount, onMounted, ref } from 'vue'

export function useNow(intervalMs = 30_000) {
  const now = ref(new Date())
  let timer: ReturnType<typeof setInterval> | undefined
  onMounted(() => {
    timer = setInterval(() => {
      now.value = new Date()
    }, intervalMs)
  })
  onBeforeUnmount(() => {
    if (timer !== undefined) clearInterval(timer)
  })
  return now
}
