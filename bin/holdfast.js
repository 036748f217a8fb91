#!/usr/bin/env node
// The `holdfast` command. The code lives in dist/ (built by `npm run build`, which
// `npm install` runs through `prepare`).
import { main } from '../dist/app/cli.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`holdfast: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
