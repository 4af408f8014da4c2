// dashboard.mjs - drive the dashboard in headless Chromium (playwright-core,
// Debian's /usr/bin/chromium) the way an operator would.  Started by
// t_dashboard.sh, which runs underlayd with a simulated fleet; see there.
//
// Environment: UL_URL, UL_TOKEN (admin), UL_NODE_MODULES (where
// playwright-core is), UL_CHROMIUM, SHOTS (screenshot directory),
// FLEET_SIZE, IPMI_NODE (polled, with history), FAKE_NODE (power-cycled),
// UNREACHABLE_NODE.  Prints one line per step; exits 0 when every step
// passed, 1 at the first failure (with a screenshot of the page then).
import {createRequire} from 'node:module';
import path from 'node:path';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const URL_ = env('UL_URL');
const TOKEN = env('UL_TOKEN');
const SHOTS = env('SHOTS');
const FLEET_SIZE = Number(env('FLEET_SIZE'));
const IPMI_NODE = env('IPMI_NODE');
const FAKE_NODE = env('FAKE_NODE');
const UNREACHABLE_NODE = env('UNREACHABLE_NODE');
const require = createRequire(path.join(env('UL_NODE_MODULES'), 'noop.js'));
const {chromium} = require('playwright-core');

const t0 = Date.now();
const log = (msg) => console.log(`dashboard: [${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`);
let page, browser, shotN = 0;
const pageErrors = [];

async function shot(name) {
  const file = path.join(SHOTS, `${String(++shotN).padStart(2, '0')}-${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  log(`screenshot ${file}`);
  // Whatever the step, no JavaScript value leaks into the text as words.
  const junk = await page.evaluate(() => (document.body.innerText.match(/.{0,30}\b(undefined|null|NaN|\[object Object\])\b.{0,30}/) || [])[0]);
  check(!junk, `"${junk}" on the page (${name})`);
  return file;
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

// The API, from the test's side (to know when the poller has history).
async function apiGet(p) {
  const r = await fetch(URL_ + '/api/v1' + p, {headers: {Authorization: `Bearer ${TOKEN}`}});
  return {status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : null};
}

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.UL_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // CI runs as root, where Chromium's sandbox cannot start; /dev/shm is
    // small in containers.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const context = await browser.newContext({viewport: {width: 1366, height: 768}, locale: 'en-GB', timezoneId: 'UTC'});
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => { pageErrors.push(e.message); log(`page error: ${e.message}`); });
  // The daemon's Content-Security-Policy allows only same-origin code and
  // styles: anything the page does against it is a bug.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
  });
  // Anything fetched from outside the daemon would break "works with no
  // internet": refuse and record it.
  const foreign = [];
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(URL_) || u.startsWith('blob:') || u.startsWith('data:')) return route.continue();
    foreign.push(u);
    return route.abort();
  });

  // 1. The sign-in form, then a wrong token is refused in words.
  await page.goto(URL_ + '/');
  await page.getByLabel('API token').waitFor();
  check(await page.getByRole('button', {name: 'Sign in'}).isVisible(), 'sign-in button');
  await page.getByLabel('API token').fill('ul_this-is-not-a-token');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('alert').filter({hasText: 'That token was refused by underlayd'}).waitFor();
  check(await page.locator('#view').evaluate((v) => v.children.length === 0), 'no dashboard behind a refused token');
  log('a wrong token is refused: "That token was refused by underlayd"');
  await shot('wrong-token');

  // 2. Sign in with the admin token: the fleet, every node a tile.
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {level: 1, name: 'Fleet'}).waitFor();
  const tiles = page.locator('#tiles > li');
  await page.waitForFunction((n) => document.querySelectorAll('#tiles > li').length === n, FLEET_SIZE);
  log(`signed in; the fleet shows ${await tiles.count()} tiles`);
  check(await page.evaluate(() => sessionStorage.getItem('underlay.token') !== null), 'token kept in sessionStorage');
  // The polled IPMI node turns OK with its inlet temperature and draw, the
  // dead BMC unreachable; the live refresh brings it without a reload.
  const ipmiTile = page.locator(`#tiles > li[data-node="${IPMI_NODE}"]`);
  await ipmiTile.filter({hasText: 'OK'}).filter({hasText: '\u00B0C'}).waitFor({timeout: 40000});
  const deadTile = page.locator(`#tiles > li[data-node="${UNREACHABLE_NODE}"]`);
  await deadTile.filter({hasText: 'Unreachable'}).waitFor({timeout: 40000});
  check(await ipmiTile.evaluate((e) => e.classList.contains('health-ok')), 'IPMI tile coloured ok');
  check(await deadTile.evaluate((e) => e.classList.contains('health-unreachable')), 'dead BMC tile coloured unreachable');
  const ipmiText = await ipmiTile.innerText();
  check(/Power on/.test(ipmiText) && /Inlet \d/.test(ipmiText) && /Draw \d/.test(ipmiText), `IPMI tile text: ${ipmiText}`);
  log(`IPMI tile: ${ipmiText.replace(/\s+/g, ' ')}`);
  const allCount = await page.locator('.count.all .n').innerText();
  check(allCount === String(FLEET_SIZE), `count of all nodes: ${allCount}`);
  await shot('fleet');

  // Filters: by label, by name, by health; then clear.
  await page.getByLabel('Label').selectOption('rack=rack1');
  await page.waitForFunction(() => document.querySelectorAll('#tiles > li').length === 4);
  await page.getByLabel('Search by name').fill('n02');
  await page.waitForFunction(() => document.querySelectorAll('#tiles > li').length === 1);
  check(page.url().includes('label=rack%3Drack1') && page.url().includes('q=n02'), `filters kept in the URL: ${page.url()}`);
  await page.getByRole('button', {name: 'Clear filters'}).click();
  await page.locator('.count.health-unreachable').click();
  await page.waitForFunction(() => document.querySelectorAll('#tiles > li').length === 1);
  await page.getByRole('button', {name: 'Clear filters'}).click();
  await page.waitForFunction((n) => document.querySelectorAll('#tiles > li').length === n, FLEET_SIZE);
  log('label, name and health filters narrow the tiles');

  // Keyboard: "/" jumps to the search box; tiles are links reached by Tab.
  await page.locator('body').press('/');
  check(await page.evaluate(() => document.activeElement.id === 'search'), '"/" focuses the search box');
  // Every control has an accessible name (a label, aria-label or text).
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, button, a[href]')]
    .filter((e) => e.offsetParent !== null)
    .filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim()))
    .map((e) => e.outerHTML.slice(0, 80)));
  check(unlabelled.length === 0, `controls without a label: ${unlabelled.join(', ')}`);

  // 3. Power: off, then cycle, each through the confirmation dialog; the
  // job's progress shows to its end and the node's power state follows.
  await page.locator(`#tiles > li[data-node="${FAKE_NODE}"] a`).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', {level: 1, name: FAKE_NODE}).waitFor();
  const power = page.locator('#node-power');
  await power.waitFor();
  const before = await power.getAttribute('data-power');
  log(`opened ${FAKE_NODE} with the keyboard; power ${before}`);

  async function powerAction(button, confirmName, expect) {
    await page.getByRole('button', {name: button}).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    check(await page.evaluate(() => document.activeElement.id === 'confirm-cancel'), 'the dialog starts on Cancel');
    const s = confirmName === 'Power cycle' ? await shot('confirm-power-cycle') : null;
    const previous = await page.locator('#job-box a[href^="#/jobs/"]').getAttribute('href', {timeout: 100}).catch(() => null);
    await dialog.getByRole('button', {name: confirmName, exact: true}).click();
    // The panel of the new job (the last one's stays until it is replaced).
    await page.waitForFunction((prev) => {
      const a = document.querySelector('#job-box .job-panel a[href^="#/jobs/"]');
      return a && a.getAttribute('href') !== prev;
    }, previous);
    const panel = page.locator('#job-box .job-panel');
    const jobId = (await panel.locator('a[href^="#/jobs/"]').innerText()).replace(/\D/g, '');
    // Progress seen while it runs (the simulated BMC takes 300 ms a call).
    const seen = new Set();
    let shotRunning = confirmName !== 'Power cycle';
    const deadline = Date.now() + 20000;
    for (;;) {
      const st = await panel.getAttribute('class');
      const pct = await panel.locator('progress').evaluate((p) => p.value).catch(() => -1);
      seen.add(`${st.replace('job-panel ', '')}:${pct}`);
      if (/job-(succeeded|failed|canceled)/.test(st)) break;
      if (!shotRunning && /job-running/.test(st)) {
        shotRunning = true;
        await shot('power-cycle-running');
      }
      check(Date.now() < deadline, `job ${jobId} did not finish; states seen ${[...seen]}`);
      await page.waitForTimeout(100);
    }
    const text = await panel.innerText();
    check(/job-succeeded/.test(await panel.getAttribute('class')), `job ${jobId} failed: ${text}`);
    check(text.includes(`Power is ${expect}.`), `job ${jobId} result: ${text}`);
    await page.waitForFunction((want) => document.querySelector('#node-power')?.dataset.power === want, expect);
    log(`${button.replace('\u2026', '')}: job ${jobId} progressed ${[...seen].join(' -> ')}; power now ${expect}`);
    return jobId;
  }
  await powerAction('Power off\u2026', 'Power off', 'off');
  const cycleJob = await powerAction('Power cycle\u2026', 'Power cycle', 'on');
  check(await power.getAttribute('data-power') === 'on', 'power on after the cycle');
  await page.locator('#node-jobs').getByRole('link', {name: `#${cycleJob}`}).waitFor();
  await shot('power-cycled');

  // Escape cancels the dialog and sends nothing.
  await page.getByRole('button', {name: 'Reset\u2026'}).click();
  await page.getByRole('dialog').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({state: 'hidden'});
  await page.waitForFunction(() => document.activeElement.dataset.action === 'reset', null, {timeout: 3000})
    .catch(() => check(false, 'focus back on the Reset button after Escape'));
  const jobsAfter = await apiGet(`/jobs?node=${FAKE_NODE}&limit=100`);
  check(!jobsAfter.body.items.some((j) => j.params && j.params.action === 'reset'), 'Escape sent no reset');

  // 4. The jobs view lists the cycle, done, with its outcome in words.
  await page.getByRole('navigation', {name: 'Views'}).getByRole('link', {name: 'Jobs'}).click();
  await page.getByRole('heading', {level: 1, name: 'Jobs'}).waitFor();
  const row = page.locator(`tr[data-job="${cycleJob}"]`);
  await row.waitFor();
  const rowText = await row.innerText();
  check(/Power cycle/.test(rowText) && /Done/.test(rowText) && /Power is on/.test(rowText) && rowText.includes(FAKE_NODE),
    `jobs row: ${rowText}`);
  log(`jobs view: ${rowText.replace(/\s+/g, ' ')}`);
  await shot('jobs');
  await row.getByRole('link', {name: `#${cycleJob}`}).click();
  await page.getByRole('heading', {level: 1, name: new RegExp(`Job ${cycleJob}: Power cycle`)}).waitFor();

  // 5. A node with history: sensors with thresholds, and a graph drawn from
  // data.  RRD history steps are a minute, so wait (bounded) until the
  // poller has stored a reading in the last hour.
  const series = `/nodes/${IPMI_NODE}/series?sensor=Inlet%20Temp&kind=temperature&range=1h`;
  const histDeadline = Date.now() + 100000;
  for (;;) {
    const r = await apiGet(series);
    if (r.status === 200 && r.body.points.some((p) => p[1] !== null)) break;
    check(Date.now() < histDeadline, `no history for ${IPMI_NODE} after 100 s: HTTP ${r.status}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
  log(`${IPMI_NODE} has an hour of history with data`);
  const graphResponse = page.waitForResponse((r) => r.url().includes(`/nodes/${IPMI_NODE}/graph?`) && r.url().includes('range=1h'));
  await page.goto(`${URL_}/#/node/${IPMI_NODE}`);
  await page.getByRole('heading', {level: 1, name: IPMI_NODE}).waitFor();
  const inlet = page.locator('table.sensors tr', {has: page.locator('th', {hasText: /^Inlet Temp$/})});
  await inlet.waitFor();
  const inletText = await inlet.innerText();
  check(/24\s*\u00B0C/.test(inletText) && /OK/.test(inletText) && /47/.test(inletText), `Inlet Temp row (reading, status, threshold): ${inletText}`);
  const gr = await graphResponse;
  check(gr.status() === 200 && gr.headers()['content-type'] === 'image/png', `graph response ${gr.status()} ${gr.headers()['content-type']}`);
  const img = page.locator('#graph');
  await page.waitForFunction(() => {
    const i = document.getElementById('graph');
    return i && !i.hidden && i.complete && i.naturalWidth > 0 && i.dataset.range === '1h';
  });
  const size = await img.evaluate((i) => [i.naturalWidth, i.naturalHeight, i.alt]);
  check(size[0] > 100 && size[1] > 50 && /temperature sensors of/.test(size[2]), `graph image ${size}`);
  log(`graph: ${size[0]}x${size[1]} PNG, alt "${size[2]}"`);
  // Other periods: the 1 week graph.
  const weekResponse = page.waitForResponse((r) => r.url().includes('/graph?') && r.url().includes('range=1w'));
  await page.getByLabel('1 week').check();
  check((await weekResponse).status() === 200, '1 week graph');
  await page.waitForFunction(() => document.getElementById('graph').dataset.range === '1w');
  await page.getByLabel('1 hour').check();
  await page.waitForFunction(() => {
    const i = document.getElementById('graph');
    return i.dataset.range === '1h' && i.complete && i.naturalWidth > 0;
  });
  // The event log from the simulated BMC's SEL.
  await page.locator('#events table tbody tr').first().waitFor({timeout: 30000});
  log(`events: ${await page.locator('#events table tbody tr').count()} rows`);
  await shot('node-graph');

  // 6. Wall mode on a 4K screen.
  await page.setViewportSize({width: 3840, height: 2160});
  await page.goto(`${URL_}/#/fleet`);
  await page.getByRole('button', {name: 'Wall mode'}).click();
  check(await page.getByRole('button', {name: 'Wall mode'}).getAttribute('aria-pressed') === 'true', 'wall mode pressed');
  await page.waitForFunction((n) => document.querySelectorAll('#tiles > li').length === n, FLEET_SIZE);
  await shot('wall-4k');

  // 7. Signing out forgets the token.
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.getByLabel('API token').waitFor();
  check(await page.evaluate(() => sessionStorage.getItem('underlay.token') === null), 'sign-out clears the token');

  check(pageErrors.length === 0, `JavaScript errors on the page: ${pageErrors.join('; ')}`);
  check(foreign.length === 0, `requests outside underlayd: ${foreign.join(', ')}`);
  log('all steps passed');
}

const watchdog = setTimeout(() => {
  log('FAIL: the browser test took longer than 170 s');
  process.exit(1);
}, 170000);

try {
  await main();
  await browser.close();
  clearTimeout(watchdog);
} catch (e) {
  log(`FAIL: ${e.message}`);
  if (page) await shot('failure').catch(() => {});
  if (browser) await browser.close().catch(() => {});
  clearTimeout(watchdog);
  process.exitCode = 1;
}
