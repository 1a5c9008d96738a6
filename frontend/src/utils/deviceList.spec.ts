import { describe, expect, it } from 'vitest'

import { summarizeDevices } from './deviceList'

describe('summarizeDevices', () => {
  const devices = Array.from({ length: 13 }, (_, i) => ({ name: `sw-${i + 1}` }))
  it('lists at most 10 names and counts the rest', () => {
    expect(summarizeDevices(devices)).toEqual({ names: devices.slice(0, 10).map((d) => d.name), more: 3 })
    expect(summarizeDevices(devices.slice(0, 10))).toEqual({ names: devices.slice(0, 10).map((d) => d.name), more: 0 })
    expect(summarizeDevices([], 0)).toEqual({ names: [], more: 0 })
  })
  it('trusts device_count when it is larger than the list', () => {
    expect(summarizeDevices(devices.slice(0, 2), 5).more).toBe(3)
  })
})
