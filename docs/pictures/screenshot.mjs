// node docs/pictures/screenshot.mjs PAGE.html OUT.png — a screenshot of a page in headless Chromium (for the README).
import { chromium } from 'playwright-core';
const [page, out] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.QMPBJ_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const tab = await browser.newPage({ viewport: { width: 1280, height: 820 } });
await tab.goto(`file://${page}`);
await tab.waitForSelector('body[data-rendered]', { timeout: 90_000 });
await tab.screenshot({ path: out, type: 'png', timeout: 90_000 });
await browser.close();
