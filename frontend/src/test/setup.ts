/** Vitest setup: the bits of a browser that jsdom lacks and Quasar expects. */

if (!('orientation' in window.screen) || !window.screen.orientation) {
  Object.defineProperty(window.screen, 'orientation', {
    configurable: true,
    value: {
      type: 'landscape-primary',
      angle: 0,
      onchange: null,
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
      lock: () => Promise.resolve(),
      unlock: () => {},
    },
  })
}

if (!window.matchMedia) {
  Object.defineProperty(window, 'matchMedia', {
    configurable: true,
    value: (query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }),
  })
}
