import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // isolated-vm 5 on Node 20 needs --no-node-snapshot in every process that creates isolates
    pool: 'forks',
    execArgv: ['--no-node-snapshot'],
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
