/**
 * The headless Chromium of the browser tests (Debian package `chromium`, or CHROMIUM_PATH),
 * driven by playwright-core. Without it a test file says so loudly and skips; under CI=true a
 * missing browser fails the run instead.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath: string | undefined = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
].find((p): p is string => p !== undefined && p !== '' && existsSync(p));

/** Call at a test file's top level: true when the browser tests can run. */
export function requireChromium(what: string): boolean {
  if (chromiumPath !== undefined) return true;
  if (process.env.CI === 'true')
    throw new Error('Chromium is required under CI=true (apt-get install chromium)');
  console.warn(
    `\n*** SKIPPING ${what}: no Chromium found (install the Debian package chromium or set CHROMIUM_PATH) ***\n`,
  );
  return false;
}

export function launchChromium(): Promise<Browser> {
  if (chromiumPath === undefined) throw new Error('no Chromium (see requireChromium)');
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
