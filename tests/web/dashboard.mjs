// dashboard.mjs - drive the dashboard in headless Chromium (playwright-core,
// Debian's /usr/bin/chromium) the way an operator would.  Started by
// t_dashboard.sh, which runs underlayd with a simulated fleet; see there.
//
// Environment: UL_URL, UL_TOKEN (admin), UL_NODE_MODULES (where
// playwright-core is), UL_CHROMIUM, SHOTS (screenshot directory),
// FLEET_SIZE, IPMI_NODE (polled, with history), FAKE_NODE (power-cycled;
// its BMC has no configuration services), UNREACHABLE_NODE, RF_NODE (a
// Redfish emulator at EMU_URL, configured), IMAGE_URL (a BIOS 2.6.0 image
// its BMC can fetch), BIG_URL and BIG_TOKEN (a second underlayd, polling
// off, with SCALE_NODES fake nodes), UNDERLAY_BIN (the CLI, to compare
// power counts).  Prints one line per step; exits 0 when every step
// passed, 1 at the first failure (with failure.png of the page then).
import {createRequire} from 'node:module';
import path from 'node:path';
import {execFileSync} from 'node:child_process';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
// The daemon the page and apiGet talk to: UL_URL, or BIG_URL (the fleet of
// thousands) during scale().
let URL_ = env('UL_URL');
let TOKEN = env('UL_TOKEN');
const SHOTS = env('SHOTS');
const FLEET_SIZE = Number(env('FLEET_SIZE'));   // the nodes named like rack1-n01
const SCALE_NODES = Number(env('SCALE_NODES')); // BIG_URL's fake nodes fk00001.. (40 a rack r001..; site s1..s4)
const IPMI_NODE = env('IPMI_NODE');
const FAKE_NODE = env('FAKE_NODE');
const UNREACHABLE_NODE = env('UNREACHABLE_NODE');
const RF_NODE = env('RF_NODE');
const EMU_URL = env('EMU_URL');
const IMAGE_URL = env('IMAGE_URL');
const require = createRequire(path.join(env('UL_NODE_MODULES'), 'noop.js'));
const {chromium} = require('playwright-core');

const t0 = Date.now();
const log = (msg) => console.log(`dashboard: [${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`);
let page, browser;
const pageErrors = [];
const pending = new Map();
const foreign = [];

// Screenshots are numbered in this order whatever order the steps run in
// (the configuration steps run while the poller gathers history, but their
// pictures come after the older ones).
const SHOT_ORDER = ['wrong-token', 'fleet', 'confirm-power-cycle', 'power-cycle-running', 'power-cycled', 'jobs',
  'node-graph', 'wall-4k', 'firmware-updated', 'bios', 'storage', 'list-10k', 'bulk-confirm', 'bulk-done',
  'edit-stale', 'events'];

// The whole page, or only the element `of` (a locator).
async function shot(name, of) {
  const n = SHOT_ORDER.indexOf(name);
  const file = path.join(SHOTS, n < 0 ? `${name}.png` : `${String(n + 1).padStart(2, '0')}-${name}.png`);
  if (of) await of.screenshot({path: file});
  else await page.screenshot({path: file, fullPage: true});
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
  const r = await fetch(URL_ + '/api/v1' + p, {headers: {Authorization: `Bearer ${TOKEN}`}, signal: AbortSignal.timeout(20000)});
  return {status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : null};
}

// The Redfish emulator's own view of its state (independent of underlayd).
async function emuState() {
  const r = await fetch(EMU_URL + '/_emulator/state');
  check(r.ok, `emulator state: HTTP ${r.status}`);
  return r.json();
}

// Confirm the open dialog with `confirmName`, then follow the new job's
// panel in `box` (a CSS selector) to its end.  Returns the job id, the
// panel's text and every state:progress:step seen; onRunning(panel) is
// called once while the job runs.
async function confirmAndFollow(box, confirmName, {timeout = 20000, onRunning} = {}) {
  const dialog = page.getByRole('dialog');
  const previous = await page.locator(`${box} .job-panel a[href^="#/jobs/"]`).getAttribute('href', {timeout: 100}).catch(() => null);
  await dialog.getByRole('button', {name: confirmName, exact: true}).click();
  await dialog.waitFor({state: 'hidden'});
  // The panel of the new job (the last one's stays until it is replaced).
  await page.waitForFunction(([sel, prev]) => {
    const a = document.querySelector(`${sel} .job-panel a[href^="#/jobs/"]`);
    return a && a.getAttribute('href') !== prev;
  }, [box, previous]);
  const panel = page.locator(`${box} .job-panel`);
  const jobId = (await panel.locator('a[href^="#/jobs/"]').innerText()).replace(/\D/g, '');
  const seen = [];
  let ran = !onRunning;
  const deadline = Date.now() + timeout;
  for (;;) {
    const st = (await panel.getAttribute('class')).replace('job-panel ', '');
    const pct = await panel.locator('progress').evaluate((p) => p.value, null, {timeout: 200}).catch(() => -1);
    const step = await panel.locator('.step').innerText({timeout: 200}).catch(() => '');
    const sig = `${st}:${pct}${step ? `:${step.replace(/^Step: /, '')}` : ''}`;
    if (seen[seen.length - 1] !== sig) seen.push(sig);
    if (/job-(succeeded|failed|canceled|unsupported)/.test(st)) break;
    if (!ran && /job-running/.test(st)) {
      ran = true;
      await onRunning(panel);
    }
    check(Date.now() < deadline, `job ${jobId} did not finish; seen ${seen.join(' -> ')}`);
    await page.waitForTimeout(100);
  }
  return {jobId, panel, text: await panel.innerText(), seen, state: (await panel.getAttribute('class')).replace('job-panel ', '')};
}

// Every visible control has an accessible name (a label, aria-label or text).
async function checkLabels(where) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, button, a[href]')]
    .filter((e) => e.offsetParent !== null)
    .filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim()))
    .map((e) => e.outerHTML.slice(0, 80)));
  check(unlabelled.length === 0, `controls without a label (${where}): ${unlabelled.join(', ')}`);
}

// Configuration of a Redfish node (firmware, BIOS, storage), each change a
// job through the confirmation dialog, each effect checked in the
// emulator's own state; then a node whose BMC has none of it.
async function configuration() {
  await page.goto(`${URL_}/#/node/${RF_NODE}`);
  await page.getByRole('heading', {level: 1, name: RF_NODE}).waitFor();
  await page.locator('#config').getByRole('heading', {level: 2, name: 'Configuration'}).waitFor();

  // Firmware: the list, then BIOS_1 updated from the image server.
  await page.getByRole('button', {name: 'Read firmware'}).click();
  const fwRow = page.locator('#fw-data tr[data-component="BIOS_1"]');
  await fwRow.waitFor();
  const fwBefore = (await fwRow.innerText()).replace(/\s+/g, ' ');
  check(/U46 v2\.10/.test(fwBefore) && /\bYes\b/.test(fwBefore), `BIOS_1 row before: ${fwBefore}`);
  check(await page.locator('#fw-data tbody tr').count() === 4, 'four firmware components');
  await page.getByLabel('Image URI').fill(IMAGE_URL);
  await page.getByLabel('Component').selectOption('BIOS_1');
  await page.locator('#fw-apply-now').check();
  await page.getByRole('button', {name: 'Update firmware\u2026'}).click();
  await page.getByRole('dialog').waitFor();
  check(await page.evaluate(() => document.activeElement.id === 'confirm-cancel'), 'the firmware dialog starts on Cancel');
  const fwDialog = await page.locator('#confirm-text').innerText();
  check(fwDialog.includes(IMAGE_URL) && fwDialog.includes('BIOS_1'), `firmware dialog: ${fwDialog}`);
  const fw = await confirmAndFollow('#fw-job', 'Update firmware', {timeout: 40000});
  check(fw.state === 'job-succeeded', `firmware update job ${fw.jobId}: ${fw.text}`);
  // The BMC task's percentage and message came through as the job's progress.
  const taskSteps = fw.seen.filter((x) => /^job-running:([1-9]\d?):.*task \w+ \d+%/.test(x));
  check(taskSteps.length >= 2, `firmware task progress seen: ${fw.seen.join(' -> ')}`);
  check(/U46 v2\.10 .*\u2192 2\.6\.0/.test(fw.text) && /1 component changed version/.test(fw.text), `firmware outcome: ${fw.text}`);
  await page.waitForFunction(() => /2\.6\.0/.test(document.querySelector('#fw-data tr[data-component="BIOS_1"]')?.textContent || ''));
  check((await emuState()).firmware.BIOS_1 === '2.6.0', 'the emulator runs BIOS 2.6.0');
  log(`firmware update: job ${fw.jobId} progressed ${fw.seen.map((x) => x.split(':').slice(1).join(':')).join(' -> ')}`);
  await shot('firmware-updated', page.locator('#config'));

  // BIOS: the settings with a filter; ProcTurboMode=Disabled applied now
  // and read back; ProcCoreDisable=2 staged, shown pending.
  await page.getByRole('button', {name: 'Read BIOS'}).click();
  const turbo = page.locator('#bios-data tr[data-attr="ProcTurboMode"]');
  await turbo.waitFor();
  const cell = (attr, i) => page.locator(`#bios-data tr[data-attr="${attr}"] td`).nth(i).innerText();
  check(await cell('ProcTurboMode', 0) === 'Enabled', 'ProcTurboMode read as Enabled');
  const allRows = await page.locator('#bios-data tbody tr').count();
  await page.getByLabel('Filter settings').fill('proc');
  await page.waitForFunction(() => /match/.test(document.getElementById('bios-count').textContent));
  const shown = await page.locator('#bios-data tbody tr:not([hidden])').allInnerTexts();
  check(shown.length >= 4 && shown.length < allRows && shown.every((t) => /proc/i.test(t)),
    `filter "proc": ${shown.length} of ${allRows} rows`);
  await page.getByLabel('Filter settings').fill('');
  await page.getByLabel('Setting', {exact: true}).selectOption('ProcTurboMode');
  await page.getByLabel('New value', {exact: true}).fill('Disabled');
  await page.locator('#bios-apply-now').check();
  await page.getByRole('button', {name: 'Change\u2026'}).click();
  await page.getByRole('dialog').waitFor();
  const biosDialog = await page.locator('#confirm-text').innerText();
  check(/Enabled \u2192 Disabled/.test(biosDialog) && /reboot/.test(biosDialog), `BIOS dialog warns of a reboot: ${biosDialog}`);
  const bset = await confirmAndFollow('#bios-job', 'Change and apply now');
  check(bset.state === 'job-succeeded' && /Applied and verified: ProcTurboMode = Disabled/.test(bset.text), `BIOS change job ${bset.jobId}: ${bset.text}`);
  // The table is read again.
  await page.waitForFunction(() => document.querySelector('#bios-data tr[data-attr="ProcTurboMode"] td')?.textContent === 'Disabled');
  check((await emuState()).bios['1'].current.ProcTurboMode === 'Disabled', 'the emulator\u2019s BIOS has ProcTurboMode=Disabled');
  log(`BIOS: job ${bset.jobId}: ${bset.text.split('\n').pop()}`);
  await page.getByLabel('Setting', {exact: true}).selectOption('ProcCoreDisable');
  await page.getByLabel('New value', {exact: true}).fill('2');
  await page.locator('#bios-apply-on-reset').check();
  await page.getByRole('button', {name: 'Change\u2026'}).click();
  await page.getByRole('dialog').waitFor();
  const staged = await confirmAndFollow('#bios-job', 'Stage the change');
  check(staged.state === 'job-succeeded' && /Staged: ProcCoreDisable = 2/.test(staged.text), `BIOS staged job ${staged.jobId}: ${staged.text}`);
  await page.waitForFunction(() => {
    const tr = document.querySelector('#bios-data tr[data-attr="ProcCoreDisable"]');
    return tr && tr.classList.contains('pending') && /2 \(pending\)/.test(tr.cells[2].textContent);
  });
  check((await emuState()).bios['1'].pending.ProcCoreDisable === 2, 'the emulator holds ProcCoreDisable=2 pending');
  check(/1 change pending: ProcCoreDisable/.test(await page.locator('#bios-pending').innerText()), 'pending said in words');
  await shot('bios', page.locator('#config'));

  // Storage: 6 drives; a RAID1 of the free HDDs 2 and 3 created, listed,
  // then deleted.
  await page.getByRole('button', {name: 'Read storage'}).click();
  await page.waitForFunction(() => document.querySelectorAll('#raid-data table.drives tbody tr').length === 6);
  const d2 = (await page.locator('#raid-data tr[data-drive="2"]').innerText()).replace(/\s+/g, ' ');
  check(/HDD/.test(d2) && /1\.92\sTB/.test(d2) && /free/.test(d2), `drive 2: ${d2}`);
  check(await page.locator('#raid-data table.volumes tbody tr').count() === 1, 'one volume at start');
  await checkLabels('configuration');
  await page.getByLabel('Name', {exact: true}).fill('scratch');
  await page.getByLabel('RAID level').selectOption('RAID1');
  await page.getByLabel(/^Drive 2:/).check();
  await page.getByLabel(/^Drive 3:/).check();
  await page.getByRole('button', {name: 'Create volume\u2026'}).click();
  await page.getByRole('dialog').waitFor();
  const mkDialog = await page.locator('#confirm-text').innerText();
  check(/drives 2, 3/.test(mkDialog) && /lost/.test(mkDialog), `create dialog: ${mkDialog}`);
  const mk = await confirmAndFollow('#raid-job', 'Create volume');
  check(mk.state === 'job-succeeded' && /created and verified/.test(mk.text), `create job ${mk.jobId}: ${mk.text}`);
  const volRow = page.locator('#raid-data table.volumes tbody tr', {hasText: 'scratch'});
  await volRow.waitFor();
  const vid = await volRow.getAttribute('data-volume');
  const vtext = (await volRow.innerText()).replace(/\s+/g, ' ');
  check(/RAID1/.test(vtext) && /2, 3/.test(vtext), `new volume row: ${vtext}`);
  const emuVol = (await emuState()).storage['1'].volumes.find((v) => v.name === 'scratch');
  check(emuVol && emuVol.raid_type === 'RAID1' && emuVol.drives.join(',') === '2,3', `the emulator's volume: ${JSON.stringify(emuVol)}`);
  log(`storage: job ${mk.jobId} created volume ${vid}: ${vtext}`);
  await shot('storage', page.locator('#config'));
  await page.getByRole('button', {name: `Delete volume ${vid} (scratch)`}).click();
  await page.getByRole('dialog').waitFor();
  const rmDialog = await page.locator('#confirm-text').innerText();
  check(/data .*is lost/.test(rmDialog), `delete dialog says data is lost: ${rmDialog}`);
  const rm = await confirmAndFollow('#raid-job', 'Delete volume');
  check(rm.state === 'job-succeeded' && /deleted/.test(rm.text), `delete job ${rm.jobId}: ${rm.text}`);
  await volRow.waitFor({state: 'detached'});
  check(await page.locator('#raid-data table.volumes tbody tr').count() === 1, 'back to one volume');
  check((await emuState()).storage['1'].volumes.length === 1, 'the emulator has one volume again');
  // Focus was on the deleted volume's button: it goes to the part's heading.
  const focused = await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'raid-title', null, {timeout: 3000})
    .then(() => '', () => page.evaluate(() => document.activeElement.outerHTML.slice(0, 80)));
  check(!focused, `focus after the delete: ${focused}`);
  log(`storage: job ${rm.jobId} deleted volume ${vid}`);

  // A BMC without any of it (the fake driver): said calmly, in place.
  await page.goto(`${URL_}/#/node/${FAKE_NODE}`);
  await page.getByRole('heading', {level: 1, name: FAKE_NODE}).waitFor();
  // Its driver lacks the capabilities (GET's `capabilities`): no read
  // button, no form, the panel says so at once, without a job.
  const ns = page.locator('#fw-job .job-unsupported');
  await ns.waitFor();
  check(await page.locator('#fw-read').isHidden(), 'no Read firmware button for a driver without firmware');
  const nsText = await ns.innerText();
  check(/Not supported by this BMC/.test(nsText), `fake node firmware: ${nsText}`);
  check(await ns.evaluate((e) => !e.closest('.error') && !e.querySelector('.error, .outcome.bad')), 'not supported is not shown as an error');
  check(await page.locator('#fw-update').isHidden(), 'no update form for a BMC without firmware updates');
  await page.locator('#raid-job .job-unsupported', {hasText: 'Not supported by this BMC'}).waitFor();
  check(await page.locator('#raid-read').isHidden(), 'no Read storage button for a driver without RAID');
  check(await page.locator('[data-key="sensors-read"]').isHidden() &&
    /not supported by this BMC/.test(await page.locator('#sensors .cap-note').innerText()),
  'no Read sensors button for a driver without sensors, and a line saying why');
  log(`${FAKE_NODE}: configuration "Not supported by this BMC"`);
}

// Power counts: the dashboard's and the CLI's (`underlay fleet`), from the
// same data, over the nodes with one label.
async function powerCounts() {
  await page.getByLabel('Label').selectOption('rack=rack1');
  await page.waitForFunction(() => document.querySelectorAll('#tiles > li').length === 4);
  const cliDeadline = Date.now() + 20000;
  for (;;) {
    const out = execFileSync(env('UNDERLAY_BIN'), ['fleet', '--label', 'rack=rack1', '-o', 'json'],
      {env: {...process.env, UNDERLAY_URL: URL_, UNDERLAY_TOKEN: TOKEN}}).toString();
    const bp = JSON.parse(out).by_power;
    const want = `${bp.on} on, ${bp.off} off, ${bp.unknown} unknown`;
    const have = await page.locator('#power-summary').innerText();
    if (have.includes(want)) {
      log(`power counts of rack=rack1: dashboard "${have.split('.')[0]}", CLI ${want}`);
      break;
    }
    check(Date.now() < cliDeadline, `power counts differ: dashboard "${have}", \`underlay fleet --label rack=rack1\` ${want}`);
    await page.waitForTimeout(1000);
  }
  await page.getByRole('button', {name: 'Clear filters'}).click();

}

// The fleet's events (the simulated IPMI BMCs' logs), times in UTC, then local.
async function eventsAndTimes() {
  await page.getByRole('navigation', {name: 'Views'}).getByRole('link', {name: 'Events'}).click();
  await page.getByRole('heading', {level: 1, name: 'Events'}).waitFor();
  const firstEvent = page.locator('.events-table tbody tr').first();
  await firstEvent.waitFor({timeout: 30000});
  const evText = await firstEvent.innerText();
  check(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/.test(evText) || /no time from the BMC/.test(evText), `event time in 24-hour UTC: ${evText}`);
  check(/ UTC$/.test(await page.locator('#updated').innerText()), 'the header\u2019s time says UTC');
  const evCount = await page.locator('#events-count').innerText();
  await page.getByRole('button', {name: 'Times: UTC'}).click();
  await page.getByRole('button', {name: 'Times: local'}).waitFor();
  check(await page.evaluate(() => localStorage.getItem('underlay.tz')) === 'local', 'the zone choice is remembered');
  await page.locator('.events-table tbody tr').first().waitFor();
  await page.getByRole('button', {name: 'Times: local'}).click();
  await page.getByRole('button', {name: 'Times: UTC'}).waitFor();
  log(`events page: ${evCount} First:  ${evText.replace(/\s+/g, ' ')}`);
  await shot('events');
}

// The node list at fleet scale (SCALE_NODES fake nodes besides the 8): the list's
// first render and filter timed (printed, not asserted), scrolling that
// keeps the DOM small, sort, grouping by a label, a bulk power action
// behind one confirmation with per-node progress, the power counts against
// the CLI's, enrolment and editing (with a stale version), the events page
// and the time zone switch.
async function scale() {
  const saved = {page, URL_, TOKEN};
  URL_ = env('BIG_URL');
  TOKEN = env('BIG_TOKEN');
  page = await page.context().newPage();
  await watch(page);
  try {
    await page.goto(`${URL_}/`);
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', {name: 'Sign in'}).click();
    await page.getByRole('heading', {level: 1, name: 'Fleet'}).waitFor();
    await scaleSteps();
  } finally {
    await page.close();
    ({page, URL_, TOKEN} = saved);
  }
}

async function scaleSteps() {
  const total = SCALE_NODES;

  // First render: from opening the page to every node counted and the first
  // rows drawn.
  await page.goto(`${URL_}/#/jobs`);
  await page.getByRole('heading', {level: 1, name: 'Jobs'}).waitFor();
  const t0 = Date.now();
  await page.goto(`${URL_}/#/fleet?view=list`);
  await page.waitForFunction((want) => document.getElementById('fleet-showing')?.textContent === `Showing all ${want} nodes.` &&
    document.querySelector('#node-list .node-row'), total, {timeout: 60000});
  const firstRender = Date.now() - t0;
  const domRows = await page.locator('#node-list .node-row').count();
  check(domRows > 5 && domRows < 120, `the list draws only the rows in sight: ${domRows} rows in the DOM`);
  log(`list view: first render of ${total} nodes in ${firstRender} ms (GET /nodes in pages and GET /fleet included); ${domRows} rows in the DOM`);
  await shot('list-10k');

  // Scrolling: jump through the list; each paint is one frame.
  const scroll = await page.evaluate(async () => {
    const sc = document.getElementById('node-list-rows');
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const times = [];
    for (let k = 1; k <= 20; k++) {
      const t = performance.now();
      sc.scrollTop = (sc.scrollHeight * k) / 20;
      await frame();
      times.push(performance.now() - t);
    }
    const last = [...document.querySelectorAll('#node-list .node-row')].pop()?.dataset.node;
    return {max: Math.max(...times), avg: times.reduce((a, b) => a + b, 0) / times.length, last,
      rows: document.querySelectorAll('#node-list .node-row').length};
  });
  check(scroll.last === `fk${String(total).padStart(5, '0')}`, `the end of the list: last row ${scroll.last}`);
  check(scroll.rows < 120, `rows in the DOM after scrolling: ${scroll.rows}`);
  log(`scrolling through ${total} rows in 20 jumps: ${scroll.avg.toFixed(1)} ms a frame on average, ${scroll.max.toFixed(1)} ms at most; last row ${scroll.last}`);

  // Filter: name, then rack and power.
  const tf = Date.now();
  await page.getByLabel('Search by name').fill('fk0999');
  await page.waitForFunction((want) => document.getElementById('fleet-showing').textContent === `Showing 10 of ${want} nodes.`, total);
  const filterMs = Date.now() - tf;
  log(`filter by name over ${total} nodes: ${filterMs} ms to "Showing 10 of ${total} nodes."`);
  await page.getByLabel('Search by name').fill('');
  const tr = Date.now();
  await page.getByLabel('Rack').selectOption('r007');
  await page.waitForFunction((want) => document.getElementById('fleet-showing').textContent === `Showing 40 of ${want} nodes.`, total);
  log(`filter by rack r007: ${Date.now() - tr} ms to 40 rows`);
  check((await page.locator('#node-list .node-row').first().getAttribute('data-node')) === 'fk00241', 'rack r007 starts at fk00241');
  // Sort by name, descending.
  await page.locator('#node-list button.sort[data-sort="name"]').click();
  await page.waitForFunction(() => document.querySelector('#node-list .node-row')?.dataset.node === 'fk00280');
  check(await page.locator('#node-list [role="columnheader"][aria-sort="descending"]').count() === 1, 'sorted descending, said by aria-sort');
  await page.locator('#node-list button.sort[data-sort="name"]').click();
  check(page.url().includes('rack=r007') && page.url().includes('view=list'), `list filters kept in the URL: ${page.url()}`);
  await page.getByLabel('Rack').selectOption('');

  // Grouping by site over the whole fleet: one header row per site.
  const tg = Date.now();
  await page.getByLabel('Group by').selectOption('site');
  await page.waitForFunction(() => document.querySelector('#node-list .vgroup'));
  const firstGroup = await page.locator('#node-list .vgroup').first().innerText();
  check(/^.*site=s1\b/.test(firstGroup) && /\d+ nodes/.test(firstGroup), `first group: ${firstGroup}`);
  log(`grouped by site in ${Date.now() - tg} ms; first group: ${firstGroup.replace(/\s+/g, ' ')}`);
  await page.locator('#node-list .vgroup .group-toggle').first().click();
  await page.waitForFunction(() => document.querySelector('#node-list .group-toggle')?.getAttribute('aria-expanded') === 'false');
  await page.getByLabel('Group by').selectOption('');
  await checkLabels('list');

  // Bulk power: rack r001's 40 nodes, one confirmation that lists them,
  // Escape sends nothing, then per-node progress to the end.
  await page.getByLabel('Rack').selectOption('r001');
  await page.waitForFunction((want) => document.getElementById('fleet-showing').textContent === `Showing 40 of ${want} nodes.`, total);
  await page.getByRole('button', {name: /^Select all 40 shown$/}).click();
  check(await page.locator('#selection-count').innerText() === '40 nodes selected', 'forty selected');
  await page.getByLabel('Action', {exact: true}).selectOption('power:on');
  const jobsBefore = (await apiGet('/jobs?type=batch&limit=1')).body.total;
  await page.getByRole('button', {name: 'Apply to 40 nodes\u2026'}).click();
  await page.getByRole('dialog').waitFor();
  check(await page.evaluate(() => document.activeElement.id === 'confirm-cancel'), 'the bulk dialog starts on Cancel');
  const listed = await page.locator('#confirm-list li').allInnerTexts();
  check(listed.length === 40 && listed[0] === 'fk00001' && listed[39] === 'fk00040', `the dialog lists the nodes: ${listed.length}`);
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({state: 'hidden'});
  check((await apiGet('/jobs?type=batch&limit=1')).body.total === jobsBefore, 'Escape sent no batch');
  await page.getByRole('button', {name: 'Apply to 40 nodes\u2026'}).click();
  await page.getByRole('dialog').waitFor();
  await shot('bulk-confirm');
  await page.getByRole('dialog').getByRole('button', {name: 'Power on: 40 nodes'}).click();
  const panel = page.locator('#bulk-job .job-panel');
  await panel.waitFor();
  const seen = [];
  const deadline = Date.now() + 60000;
  for (;;) {
    const c = await page.locator('#bulk-counts').innerText().catch(() => '');
    if (c && seen[seen.length - 1] !== c) seen.push(c);
    if (/job-(succeeded|failed|canceled)/.test(await panel.getAttribute('class'))) break;
    check(Date.now() < deadline, `bulk power did not finish: ${seen.join(' -> ')}`);
    await page.waitForTimeout(200);
  }
  seen.push(await page.locator('#bulk-counts').innerText());
  const bulkText = await panel.innerText();
  check(/job-succeeded/.test(await panel.getAttribute('class')) && /Done on all 40 nodes/.test(bulkText), `bulk outcome: ${bulkText.slice(0, 300)}`);
  const childRows = await page.locator('#bulk-job tbody tr').allInnerTexts();
  check(childRows.length === 40 && childRows.every((t) => /Done/.test(t) && /Power is on/.test(t)), `per-node rows: ${childRows.length}`);
  // Each fake BMC takes 300 ms a call: the batch was seen under way.
  check(seen.some((c) => /^(\d+) of 40 nodes finished/.test(c) && Number(c.split(' ')[0]) < 40), `bulk progress seen under way: ${seen.join(' -> ')}`);
  const parentId = await panel.getAttribute('data-job');
  const kids = (await apiGet(`/jobs?parent=${parentId}&limit=100`)).body;
  check(kids.total === 40 && kids.items.every((j) => j.state === 'succeeded' && j.result.power === 'on'), 'the 40 child jobs succeeded with power on');
  log(`bulk power on of rack r001: batch job ${parentId}, progress ${seen.join(' -> ')}`);
  await shot('bulk-done');
  await page.getByRole('button', {name: 'Clear filters'}).click();

  // Enrolment: bad input said and nothing sent; a node with sensors.
  await page.getByRole('navigation', {name: 'Views'}).getByRole('link', {name: 'Enrol'}).click();
  await page.getByRole('heading', {level: 1, name: 'Enrol a node'}).waitFor();
  await page.getByLabel('Name', {exact: true}).fill('web-n01');
  await page.getByLabel('Endpoint', {exact: true}).fill('fake://web-n01');
  await page.getByLabel('Labels').fill('rack r9');
  await page.getByRole('button', {name: 'Enrol node'}).click();
  await page.locator('#enrol-result .error', {hasText: 'Labels: "rack r9" is not key=value'}).waitFor();
  check((await apiGet('/nodes/web-n01')).status === 404, 'a refused form sends nothing');
  await page.getByLabel('Labels').fill('rack=r900, site=s9, role=web');
  await page.getByLabel('Driver options (JSON, optional)').fill('{"sensors": 4}');
  await page.getByRole('button', {name: 'Enrol node'}).click();
  await page.locator('#enrol-result', {hasText: 'Enrolled web-n01'}).waitFor();
  const made = (await apiGet('/nodes/web-n01')).body;
  check(made.driver === 'fake' && made.labels.rack === 'r900' && made.labels.role === 'web' && made.options.sensors === 4,
    `the enrolled node: ${JSON.stringify(made)}`);
  // The same name again: underlayd's refusal in words.
  await page.getByLabel('Name', {exact: true}).fill('web-n01');
  await page.getByRole('button', {name: 'Enrol node'}).click();
  await page.locator('#enrol-result .error', {hasText: 'A node named web-n01 is already enrolled'}).waitFor();
  log(`enrolment: web-n01 enrolled; again: ${(await page.locator('#enrol-result').innerText()).replace(/\s+/g, ' ')}`);

  // Editing from the node's page: labels changed (one removed), then a
  // stale form refused (412), said, and reloaded.
  await page.goto(`${URL_}/#/node/web-n01`);
  await page.getByRole('heading', {level: 1, name: 'web-n01'}).waitFor();
  await page.getByRole('link', {name: 'Edit endpoint, credentials and labels'}).click();
  await page.getByRole('heading', {level: 1, name: 'Edit web-n01'}).waitFor();
  await page.waitForFunction(() => /role=web/.test(document.getElementById('edit-labels').value));
  await page.getByLabel('Labels').fill('rack=r901\nsite=s9');
  await page.getByLabel('BMC user').fill('operator1');
  await page.getByRole('button', {name: 'Save changes'}).click();
  await page.locator('#edit-result', {hasText: 'Saved'}).waitFor();
  const edited = (await apiGet('/nodes/web-n01')).body;
  check(edited.labels.rack === 'r901' && !('role' in edited.labels) && edited.username === 'operator1', `after the edit: ${JSON.stringify(edited.labels)} ${edited.username}`);
  // Someone else changes the node behind the form's back.
  const other = execFileSync('curl', ['-s', '-m', '20', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PATCH',
    '-H', `Authorization: Bearer ${TOKEN}`, '-H', 'Content-Type: application/json',
    '--data', JSON.stringify({labels: {owner: 'someone'}}), `${URL_}/api/v1/nodes/web-n01`], {timeout: 30000}).toString();
  check(other === '200', `the concurrent PATCH: HTTP ${other}`);
  await page.getByLabel('Labels').fill('rack=r902\nsite=s9');
  await page.getByRole('button', {name: 'Save changes'}).click();
  const stale = await page.locator('#edit-stale').innerText();
  check(/changed by someone else/.test(stale) && /nothing was saved/.test(stale), `412 said: ${stale}`);
  check(/owner=someone/.test(await page.getByLabel('Labels').inputValue()), 'the form was reloaded with the current labels');
  check((await apiGet('/nodes/web-n01')).body.labels.rack === 'r901', 'the stale edit wrote nothing');
  log(`editing: labels and user saved; a stale form: "${stale.split('.')[0]}." and reloaded`);
  await shot('edit-stale');

}

// Every page: a default timeout, JavaScript and CSP errors recorded,
// requests under way tracked, nothing fetched from outside the daemon.
async function watch(p) {
  p.setDefaultTimeout(15000);
  p.on('pageerror', (e) => { pageErrors.push(e.message); log(`page error: ${e.message}`); });
  // The daemon's Content-Security-Policy allows only same-origin code and
  // styles: anything the page does against it is a bug.
  p.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
  });
  // Requests under way, so that a failure can say which never ended.
  p.on('request', (r) => pending.set(r, Date.now()));
  p.on('requestfinished', (r) => {
    const t = pending.get(r);
    pending.delete(r);
    if (t && Date.now() - t > 3000) log(`slow answer: ${((Date.now() - t) / 1000).toFixed(1)} s for ${r.method()} ${r.url()}`);
  });
  p.on('requestfailed', (r) => {
    const t = pending.get(r);
    pending.delete(r);
    if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) log(`request failed after ${((Date.now() - t) / 1000).toFixed(1)} s: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  // Anything fetched from outside the daemon would break "works with no
  // internet": refuse and record it.
  const base = URL_; // this page's daemon
  await p.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(base) || u.startsWith('blob:') || u.startsWith('data:')) return route.continue();
    foreign.push(u);
    return route.abort();
  });

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
  await watch(page);

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
  await powerCounts();

  // Keyboard: "/" jumps to the search box; tiles are links reached by Tab.
  await page.locator('body').press('/');
  check(await page.evaluate(() => document.activeElement.id === 'search'), '"/" focuses the search box');
  await checkLabels('fleet');

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
    const cycle = confirmName === 'Power cycle';
    if (cycle) await shot('confirm-power-cycle');
    // Progress seen while it runs (the simulated BMC takes 300 ms a call).
    const {jobId, text, seen, state} = await confirmAndFollow('#job-box', confirmName,
      {onRunning: cycle ? () => shot('power-cycle-running') : undefined});
    check(state === 'job-succeeded', `job ${jobId} failed: ${text}`);
    check(text.includes(`Power is ${expect}.`), `job ${jobId} result: ${text}`);
    await page.waitForFunction((want) => document.querySelector('#node-power')?.dataset.power === want, expect);
    log(`${button.replace('\u2026', '')}: job ${jobId} progressed ${seen.map((x) => x.split(':').slice(0, 2).join(':')).join(' -> ')}; power now ${expect}`);
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

  // 5. Configuration and the fleet at scale, while the poller gathers history.
  await configuration();
  await scale();
  await eventsAndTimes();

  // 6. A node with history: sensors with thresholds, and a graph drawn from
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
  const zoomSpan = () => page.evaluate(() => {
    const z = document.getElementById('graph-zoom');
    return Number(z.dataset.end) - Number(z.dataset.start);
  });
  // The presets set the interactive chart's span too, starting at the data
  // as the server's graph does: this node's history is minutes old, so a
  // week or 6 hours show its last hour, with its lines.
  for (const [label, preset] of [['1 week', '1w'], ['6 hours', '6h']]) {
    await page.getByLabel(label).check();
    await page.waitForFunction((p) => {
      const z = document.getElementById('graph-zoom');
      return z.dataset.preset === p && z.querySelector('svg polyline') && Number(z.dataset.end) - Number(z.dataset.start) === 3600;
    }, preset);
  }
  await page.getByLabel('1 hour').check();
  await page.waitForFunction(() => {
    const i = document.getElementById('graph');
    return i.dataset.range === '1h' && i.complete && i.naturalWidth > 0;
  });
  await page.waitForFunction(() => {
    const z = document.getElementById('graph-zoom');
    return z.dataset.preset === '1h' && z.querySelector('svg polyline') && Number(z.dataset.end) - Number(z.dataset.start) === 3600;
  });
  // Dragging across the chart zooms both drawings into that span.
  await page.locator('#graph-zoom svg').scrollIntoViewIfNeeded();
  const box = await page.locator('#graph-zoom svg').boundingBox();
  const zoomGraph = page.waitForResponse((r) => r.url().includes('/graph?') && r.url().includes('start=') && r.url().includes('end='));
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2, {steps: 5});
  await page.mouse.up();
  check((await zoomGraph).status() === 200, 'zoomed graph');
  await page.waitForFunction(() => document.getElementById('graph').dataset.range === 'zoom');
  await page.waitForFunction(() => {
    const z = document.getElementById('graph-zoom');
    const span = Number(z.dataset.end) - Number(z.dataset.start);
    return z.dataset.preset === 'zoom' && span > 120 && span < 3600;
  });
  const zoomed = await zoomSpan();
  check(zoomed > 500 && zoomed < 1500 && await page.locator('#graph-zoom svg polyline').count() > 0, `a drag over the last 30% of the hour's chart shows ${zoomed} s`);
  log(`zoom: a drag from 70% of the 1 hour chart to its right edge shows ${zoomed} s`);
  check(await page.locator('#graph-zoom-reset').isVisible(), 'Reset zoom shown while zoomed');
  await page.locator('#graph-zoom-reset').click();
  await page.waitForFunction(() => document.getElementById('graph').dataset.range === '1h');
  await page.waitForFunction(() => {
    const z = document.getElementById('graph-zoom');
    return z.dataset.preset === '1h' && Number(z.dataset.end) - Number(z.dataset.start) === 3600;
  });
  check(!(await page.locator('#graph-zoom-reset').isVisible()), 'Reset zoom hidden at a preset');
  // The event log from the simulated BMC's SEL.
  await page.locator('#events table tbody tr').first().waitFor({timeout: 30000});
  log(`events: ${await page.locator('#events table tbody tr').count()} rows`);
  await shot('node-graph');

  // 7. Wall mode on a 4K screen.
  await page.setViewportSize({width: 3840, height: 2160});
  await page.goto(`${URL_}/#/fleet?rack=rack1`);
  await page.getByRole('button', {name: 'Wall mode'}).click();
  check(await page.getByRole('button', {name: 'Wall mode'}).getAttribute('aria-pressed') === 'true', 'wall mode pressed');
  await page.waitForFunction(() => document.querySelectorAll('#tiles > li').length === 4);
  await shot('wall-4k');

  // 8. Signing out forgets the token.
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.getByLabel('API token').waitFor();
  check(await page.evaluate(() => sessionStorage.getItem('underlay.token') === null), 'sign-out clears the token');

  check(pageErrors.length === 0, `JavaScript errors on the page: ${pageErrors.join('; ')}`);
  check(foreign.length === 0, `requests outside underlayd: ${foreign.join(', ')}`);
  log('all steps passed');
}

const watchdog = setTimeout(() => {
  log('FAIL: the browser test took longer than 240 s');
  process.exit(1);
}, 240000);

try {
  await main();
  await browser.close();
  clearTimeout(watchdog);
} catch (e) {
  log(`FAIL: ${e.message}`);
  for (const [r, t] of pending) log(`request without an answer for ${((Date.now() - t) / 1000).toFixed(1)} s: ${r.method()} ${r.url()}`);
  if (page) await shot('failure').catch(() => {});
  if (browser) await browser.close().catch(() => {});
  clearTimeout(watchdog);
  process.exitCode = 1;
}
