#!/usr/bin/env node
// Writes docs/configuration.md from the config schema. Run after `npm run build`:
//   npm run build && node scripts/gen-config-docs.mjs
// test/unit/app/config-docs.test.ts fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';

const { renderConfigDocs } = await import('../dist/app/config/docs.js');
const target = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(target, renderConfigDocs());
console.log(`wrote ${target.pathname}`);
