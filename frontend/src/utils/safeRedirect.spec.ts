import { describe, expect, it } from 'vitest'

import { safeNextPath } from './safeRedirect'

describe('safeNextPath', () => {
  it('accepts local paths only', () => {
    expect(safeNextPath('/vaultadmin/schedule-calendar')).toBe('/vaultadmin/schedule-calendar')
    expect(safeNextPath('/devices/3/edit?x=1')).toBe('/devices/3/edit?x=1')
    expect(safeNextPath(['/devices/3/edit'])).toBe('/devices/3/edit')
    expect(safeNextPath('//evil.example/')).toBe('/devices')
    expect(safeNextPath('https://evil.example/')).toBe('/devices')
    expect(safeNextPath('/\\evil.example')).toBe('/devices')
    expect(safeNextPath('/login?next=/devices')).toBe('/devices')
    expect(safeNextPath(undefined)).toBe('/devices')
  })
})
