/**
 * Device and collection groups as far as the browser can know them. The API has no group
 * list: the names come from the devices the user may see (`/api/devices/`), so a group with
 * no visible device is known by its id only.
 */

import { computed, ref } from 'vue'

import { listDevices } from '../api/devices'

/** Enough for large inventories without reading them whole (5,000 devices). */
const MAX_PAGES = 10
const PAGE_SIZE = 500

export interface GroupOption {
  id: number
  name: string
}

export function useGroups() {
  const deviceGroups = ref<Map<number, string>>(new Map())
  const collectionGroups = ref<Map<number, string>>(new Map())
  const loading = ref(false)

  async function load(): Promise<void> {
    loading.value = true
    const devices = new Map<number, string>()
    const collections = new Map<number, string>()
    try {
      for (let page = 1; page <= MAX_PAGES; page += 1) {
        const answer = await listDevices({ page, pageSize: PAGE_SIZE })
        for (const device of answer.results) {
          if (device.device_group) devices.set(device.device_group.id, device.device_group.name)
          if (device.collection_group) collections.set(device.collection_group.id, device.collection_group.name)
        }
        if (answer.next === null || answer.results.length === 0) break
      }
    } catch {
      // Names are a convenience: without them the ids are shown.
    } finally {
      deviceGroups.value = devices
      collectionGroups.value = collections
      loading.value = false
    }
  }

  const sorted = (known: Map<number, string>): GroupOption[] =>
    [...known].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name))

  return {
    deviceGroups,
    collectionGroups,
    deviceGroupOptions: computed(() => sorted(deviceGroups.value)),
    collectionGroupOptions: computed(() => sorted(collectionGroups.value)),
    loading,
    load,
  }
}
