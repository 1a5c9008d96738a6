// Debian's Chromium driven by playwright-core: launch, one isolated context per user, a guard
// that keeps every request on 127.0.0.0/8, and small waiting helpers.

import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { chromium } from 'playwright-core'

export const VIEWPORT = { width: 1280, height: 800 }
const ACTION_TIMEOUT_MS = 10_000

/** Everything the run needs from its environment (set by tests/test_browser.py). */
export function config(env = process.env) {
  const required = ['BASE_URL', 'E2E_STAFF_USER', 'E2E_STAFF_PASSWORD', 'E2E_OTHER_USER', 'E2E_OTHER_PASSWORD']
  const missing = required.filter((name) => !env[name])
  if (missing.length) {
    throw new Error(`frontend/e2e: missing environment ${missing.join(', ')} (run it through tests/test_browser.py)`)
  }
  const baseUrl = env.BASE_URL.replace(/\/+$/, '')
  if (!isLoopback(new URL(baseUrl).hostname)) throw new Error(`BASE_URL must be on 127.0.0.0/8, got ${baseUrl}`)
  return {
    baseUrl,
    chromium: env.CHROMIUM || '/usr/bin/chromium',
    staff: { username: env.E2E_STAFF_USER, password: env.E2E_STAFF_PASSWORD },
    other: { username: env.E2E_OTHER_USER, password: env.E2E_OTHER_PASSWORD },
    screenshotDir: env.SCREENSHOT_DIR || null,
  }
}

export function isLoopback(hostname) {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(\.\d{1,3}){3}$/.test(hostname)
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--no-proxy-server',
  // Belt and braces: no name but the loopback ones resolves at all.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
]

/**
 * Start Chromium. Playwright gives it a fresh temporary profile (`--user-data-dir` under
 * $TMPDIR, removed on close). Returns `{ newUser, close, blocked }`: `newUser()` opens an
 * isolated context (its own cookies, like a private window) with one page.
 */
export async function launch(cfg) {
  if (!existsSync(cfg.chromium)) throw new Error(`Chromium not found at ${cfg.chromium}: apt-get install -y chromium`)
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, http_proxy: '', https_proxy: '', HTTP_PROXY: '', HTTPS_PROXY: '', all_proxy: '', ALL_PROXY: '' },
  })
  /** Requests the guard refused (anything off 127.0.0.0/8). */
  const blocked = []

  async function newUser() {
    const context = await browser.newContext({
      baseURL: cfg.baseUrl,
      viewport: VIEWPORT,
      deviceScaleFactor: 1,
      locale: 'en-US',
      // Not the display time zone on purpose: every time shown must be Australia/Sydney.
      timezoneId: 'America/New_York',
      serviceWorkers: 'block',
    })
    context.setDefaultTimeout(ACTION_TIMEOUT_MS)
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url())
      if (isLoopback(url.hostname)) return route.continue()
      blocked.push(url.href)
      return route.abort('blockedbyclient')
    })
    const page = await context.newPage()
    const problems = []
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') {
        const text = message.text()
        // The browser logs every non-2xx fetch; the tests provoke some (wrong password, 404).
        if (!/Failed to load resource: the server responded with a status of (400|403|404)/.test(text)) {
          problems.push(`console: ${text}`)
        }
      }
    })
    return { context, page, problems }
  }

  async function close() {
    await browser.close().catch(() => {})
  }

  return { newUser, close, blocked }
}

/** Retry `check` (which throws while not yet true) until it passes or `timeout` ms have gone. */
export async function eventually(check, { timeout = ACTION_TIMEOUT_MS, interval = 100 } = {}) {
  const deadline = Date.now() + timeout
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(interval)
    }
  }
}

/** `GET` an API path with the context's session; the parsed JSON. */
export async function apiGet(context, path) {
  const response = await context.request.get(path, { headers: { Accept: 'application/json' } })
  if (!response.ok()) throw new Error(`GET ${path}: HTTP ${response.status()} ${await response.text()}`)
  return response.json()
}

/**
 * `POST`/`PATCH`/`DELETE` an API path with the context's session and its CSRF token (as the SPA
 * sends them); the parsed JSON, or null for a 204.
 */
export async function apiSend(context, method, path, body) {
  const csrf = (await context.cookies()).find((cookie) => cookie.name === 'csrftoken')?.value ?? ''
  const response = await context.request.fetch(path, {
    method,
    data: body,
    headers: { Accept: 'application/json', 'X-CSRFToken': csrf },
  })
  if (!response.ok()) throw new Error(`${method} ${path}: HTTP ${response.status()} ${await response.text()}`)
  return response.status() === 204 ? null : response.json()
}

/** Every device the context's user may see, by name. */
export async function devicesByName(context) {
  const page = await apiGet(context, '/api/devices/?page_size=500')
  return Object.fromEntries(page.results.map((device) => [device.name, device]))
}

/**
 * Save a 1280×800 PNG of the page as `<SCREENSHOT_DIR>/<name>.png` when a directory is given:
 * without keyboard focus (no focus rings) and once transitions (tooltips fading in) are over.
 */
export async function screenshot(cfg, page, name) {
  if (!cfg.screenshotDir) return null
  mkdirSync(cfg.screenshotDir, { recursive: true })
  const path = join(cfg.screenshotDir, `${name}.png`)
  await page.evaluate(() => document.activeElement?.blur?.())
  await page
    .waitForFunction(
      // Vue's <Transition> classes come a frame before the CSS transition itself.
      () =>
        !document.querySelector('[class*="-enter-active"], [class*="-leave-active"]') &&
        document.getAnimations().every((a) => a.playState !== 'running'),
      null,
      { timeout: 3_000, polling: 100 },
    )
    .catch(() => {}) // an endless animation (a spinner) must not stop the run
  await page.screenshot({ path, caret: 'hide' })
  return path
}
