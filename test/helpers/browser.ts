import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that work on this machine (headless, no sandbox as root, no background traffic). */
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/**
 * Debian's chromium through playwright-core (DESIGN §13), each launch on a fresh temporary profile.
 * Fails loudly when chromium is missing: a browser test never passes without a browser.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: run \`make system-deps\` (Debian package chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

/** A browser context whose requests may only go to loopback (test traffic stays on 127.0.0.0/8 and ::1). */
export async function loopbackContext(browser: Browser, options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; blocked: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const blocked: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol === 'data:' || host === 'localhost' || host === '::1' || /^127\./.test(host)) return route.continue();
    blocked.push(url.origin);
    return route.abort('blockedbyclient');
  });
  return { context, blocked };
}
