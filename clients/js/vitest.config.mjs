// The React bindings' tests: React 19 + Testing Library in jsdom, against the built package (npm run build first).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "jsdom",
    include: ["react-tests/**/*.test.mjs"],
    pool: "threads",
    maxWorkers: 1,
  },
});
