import { defineConfig, mergeConfig } from 'vitest/config'

import viteConfig from './vite.config.ts'

export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      environment: 'jsdom',
      include: ['src/**/*.spec.ts'],
      setupFiles: ['./src/test/setup.ts'],
      // Quasar and Vue must be transformed by Vite, not loaded by Node, so
      // that the component tests see the browser (client) build of Quasar.
      server: { deps: { inline: ['quasar'] } },
      restoreMocks: true,
    },
  }),
)
