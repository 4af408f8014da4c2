// console.mjs - the dashboard's serial console in headless Chromium
// (playwright-core): started by t_console_web.sh, which runs underlayd with
// one ipmi_sim BMC whose SOL serial port is serial_host.py.
//
// Environment: UL_URL, UL_TOKEN (admin), UL_NODE_MODULES, UL_CHROMIUM,
// SHOTS (screenshot directory), NODE_NAME, RECV (what reached the host's
// serial port), HOSTFIFO (write here to print on the host's serial port).
// Prints one line per step; exits 0 when every step passed, 1 at the first
// failure (with console-failure.png).
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const URL_ = env('UL_URL');
const TOKEN = env('UL_TOKEN');
const SHOTS = env('SHOTS');
const NODE = env('NODE_NAME');
const RECV = env('RECV');
const HOSTFIFO = env('HOSTFIFO');
const require = createRequire(path.join(env('UL_NODE_MODULES'), 'noop.js'));
const {chromium} = require('playwright-core');

const t0 = Date.now();
const log = (msg) => console.log(`console-web: [${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`);
const check = (cond, what) => { if (!cond) throw new Error(`check failed: ${what}`); };
const problems = [];

async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function signIn(page) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  // Nothing may be loaded from elsewhere.
  await page.route('**/*', (route) => (route.request().url().startsWith(URL_) ? route.continue() : route.abort()));
  await page.goto(URL_ + '/');
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {level: 1, name: 'Fleet'}).waitFor();
  await page.goto(`${URL_}/#/node/${NODE}`);
  await page.locator('#console-open').waitFor();
}

const screenText = (page) => page.evaluate(() => {
  const el = document.querySelector('#console-screen');
  return el && el.consoleText ? el.consoleText() : '';
});

let browser, page, page2;
try {
  browser = await chromium.launch({
    executablePath: process.env.UL_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  page = await (await browser.newContext({viewport: {width: 1400, height: 1000}})).newPage();
  await signIn(page);

  // 1. Open the console: interactive.
  await page.locator('#console-open').click();
  await page.locator('#console-status').filter({hasText: 'console open (interactive)'}).waitFor({timeout: 20000});
  log('the console opened interactive');

  // 2. What the host prints appears in the terminal.
  fs.writeFileSync(HOSTFIFO, 'host says web-hello-1\r\n');
  await until('the host line in the terminal', async () => (await screenText(page)).includes('host says web-hello-1'));
  log('host output shows in the terminal');

  // 3. What we type reaches the host.
  await page.locator('#console-screen').click();
  await page.keyboard.type('typed-in-browser');
  await page.keyboard.press('Enter');
  await until('the typed line at the host', () => fs.readFileSync(RECV, 'utf8').includes('typed-in-browser'));
  log('typing reaches the host');
  await page.screenshot({path: path.join(SHOTS, 'console-interactive.png'), fullPage: true});

  // 4. A second browser watches read-only and is told who holds it.
  page2 = await (await browser.newContext({viewport: {width: 1400, height: 1000}})).newPage();
  await signIn(page2);
  // The terminal draws on animation frames, which a page in the background
  // may not get.
  await page2.bringToFront();
  await page2.locator('#console-watch').click();
  await page2.locator('#console-status').filter({hasText: 'read-only; held by admin'}).waitFor({timeout: 20000});
  await until('the backlog in the viewer', async () => (await screenText(page2)).includes('host says web-hello-1'));
  fs.writeFileSync(HOSTFIFO, 'host says web-hello-2\r\n');
  await until('new output in the viewer', async () => (await screenText(page2)).includes('host says web-hello-2'));
  await page2.locator('#console-screen').click();
  await page2.keyboard.type('typed-by-web-viewer');
  await page2.keyboard.press('Enter');
  await page2.locator('#console-status').filter({hasText: 'your input is not sent'}).waitFor({timeout: 20000});
  log('a second browser watches read-only');
  await page2.screenshot({path: path.join(SHOTS, 'console-read-only.png'), fullPage: true});

  // 5. Leaving ends the session; the viewer is told why.
  await page.bringToFront();
  await page.locator('#console-close').click();
  await page.locator('#console-status').filter({hasText: 'You left the console'}).waitFor();
  await page2.locator('#console-status').filter({hasText: 'the interactive client left'}).waitFor({timeout: 20000});
  check(!fs.readFileSync(RECV, 'utf8').includes('typed-by-web-viewer'), "the viewer's typing reached the host");
  check(await page.locator('#console-open').isVisible(), 'the console can be opened again');
  log('leaving ends the session; the viewer is told');

  check(problems.length === 0, `no page errors (${problems.join('; ')})`);
  log('ok');
  await browser.close();
  process.exit(0);
} catch (e) {
  log(`FAIL: ${e.message}`);
  if (problems.length) log(`page problems: ${problems.join('; ')}`);
  try { if (page) await page.screenshot({path: path.join(SHOTS, 'console-failure.png'), fullPage: true}); } catch {}
  try { if (page2) await page2.screenshot({path: path.join(SHOTS, 'console-failure-viewer.png'), fullPage: true}); } catch {}
  if (browser) await browser.close();
  process.exit(1);
}
