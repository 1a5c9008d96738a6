// What each test user should see, given fixtures/inventory.yaml (keep the two in step).

export const DISPLAY_TIME_ZONE = 'Australia/Sydney' // config/config.yaml

export const SCHEDULES = {
  monthly: { name: 'Monthly 15th', time: '01:00' }, // day_of_month 15
  daily: { name: 'Daily 2 AM', time: '02:00' },
  weekly: { name: 'Weekly Mon', time: '03:30' }, // Mondays
  paused: { name: 'Paused Sunday' }, // disabled: never on the calendar
}

/** The staff user (user group netops → device group "core", may change devices). */
export const STAFF_VIEW = {
  devices: ['Core-Firewall-04', 'Core-Lab-06', 'Core-Router-01', 'Core-Router-02', 'Core-Spare-05', 'Core-Switch-03'],
  // Enabled devices per schedule (Core-Spare-05 is a disabled device on "Daily 2 AM").
  onSchedule: {
    monthly: [],
    daily: ['Core-Router-01', 'Core-Router-02'],
    weekly: ['Core-Switch-03'],
  },
  notScheduled: {
    'Core-Firewall-04': 'no schedule',
    'Core-Lab-06': 'its schedule is disabled',
    'Core-Spare-05': 'the device is disabled',
  },
  canChange: true,
}

/** The plain user (user group branch-support → device group "branch", read only). */
export const OTHER_VIEW = {
  devices: ['Branch-Switch-01', 'Branch-Switch-02'],
  onSchedule: {
    monthly: ['Branch-Switch-02'],
    daily: ['Branch-Switch-01'],
    weekly: [],
  },
  notScheduled: {},
  canChange: false,
}

/**
 * The past seeded by tests/test_browser.py (_seed_history): "Daily 2 AM" two nights ago (both
 * routers succeeded) and last night (Core-Router-02 failed), and Core-Router-01's two stored
 * configurations, which differ in the NTP server.
 */
export const HISTORY = {
  lastNight: { daysAgo: 1, results: { success: 1, failed: 1 }, outcome: 'some_failed' },
  nightBefore: { daysAgo: 2, results: { success: 2 }, outcome: 'succeeded' },
  failedDevice: 'Core-Router-02',
  error: 'connection refused by 127.0.0.12:22',
  configDevice: 'Core-Router-01',
  removed: 'ntp server 10.0.0.1',
  added: 'ntp server 127.0.0.1',
}
