// Writes docs/configuration.md from the configuration schema, formatted with the project's
// prettier settings (run after `npm run build`; `npm run docs:config` does both).
import { writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { configurationMarkdown } from '../dist/src/config/docs.js';

const target = new URL('../docs/configuration.md', import.meta.url);
const options = (await resolveConfig(target.pathname)) ?? {};
writeFileSync(target, await format(configurationMarkdown(), { ...options, parser: 'markdown' }));
