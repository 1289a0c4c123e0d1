// Browser test of the fedxray web console: Debian's chromium in headless mode, driven by
// puppeteer-core, against a coordinator that tests/console_process_test.cc started on loopback.
//
// Each identity gets its own NSS database (the browser's certificate store) holding only that
// identity's PKCS#12 file and the consortium CA; chromium picks the certificate through the
// AutoSelectCertificateForUrls policy that scripts/setup.sh installs for the test consortium's
// CA. Exits non-zero on the first failed expectation, naming it; screenshots go to ARTIFACTS.
//
// Environment: CONSOLE (https://127.0.0.1:port), KITS (the provisioned kits), JOB (a running
// job), BAD_JOB (a job file with an error on a known line), ARTIFACTS (a folder), CHROMIUM.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const { CONSOLE, KITS, JOB, BAD_JOB, ARTIFACTS } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function expect(ok, what) {
  if (!ok) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

// A browser profile whose certificate store holds `who`'s PKCS#12 (or none) and trusts the CA.
function profileFor(who) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `fedxray-console-${who}-`));
  const db = `sql:${home}/.pki/nssdb`;
  fs.mkdirSync(`${home}/.pki/nssdb`, { recursive: true });
  execFileSync('certutil', ['-N', '-d', db, '--empty-password']);
  execFileSync('certutil', ['-A', '-n', 'fedxray-ca', '-t', 'CT,,', '-i', `${KITS}/ca/ca.crt`,
                            '-d', db]);
  if (who !== 'nobody') {
    let p12 = `${KITS}/${who}/${who}.p12`;
    if (!fs.existsSync(p12)) {  // a site kit has no .p12: make one, as a site could
      p12 = `${home}/${who}.p12`;
      execFileSync('openssl', ['pkcs12', '-export', '-in', `${KITS}/${who}/${who}.crt`, '-inkey',
                               `${KITS}/${who}/${who}.key`, '-out', p12, '-passout', 'pass:']);
    }
    execFileSync('pk12util', ['-i', p12, '-d', db, '-W', '']);
  }
  return home;
}

async function browse(who, fn) {
  const home = profileFor(who);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
    env: { ...process.env, HOME: home },
    userDataDir: `${home}/profile`,
  });
  const page = await browser.newPage();
  const offsite = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(CONSOLE) && !r.url().startsWith('data:')) offsite.push(r.url());
  });
  try {
    await fn(page);
    expect(offsite.length === 0, `${who}: no request left the console (${offsite.join(' ')})`);
  } finally {
    await browser.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const text = (page, selector) =>
  page.$eval(selector, (e) => e.textContent).catch(() => null);
const points = (page) =>
  page.$$eval('#sections polyline', (lines) =>
    lines.reduce((n, l) => n + l.getAttribute('points').trim().split(/\s+/).filter(Boolean).length,
                 0));

// An admin: every page, the live round advancing without a reload, a bad job file's line.
await browse('alice', async (page) => {
  let res = await page.goto(`${CONSOLE}/jobs`);
  expect(res.status() === 200, 'admin: the jobs page opens with the admin certificate');
  expect((await text(page, 'nav span')).includes('CN=alice,OU=admin'), 'admin: named in the header');
  await shot(page, 'jobs');

  res = await page.goto(`${CONSOLE}/jobs/${JOB}`);
  expect(res.status() === 200, 'admin: the job page opens');
  const firstCompleted = Number(await text(page, '#completed'));
  const firstPoints = await points(page);
  // Wait, without reloading, for the live view to show more completed rounds and longer curves.
  await page.waitForFunction(
    (n) => Number(document.getElementById('completed').textContent) > n, { timeout: 120000 },
    firstCompleted);
  await page.waitForFunction(
    (n) => [...document.querySelectorAll('#sections polyline')].reduce(
      (k, l) => k + l.getAttribute('points').trim().split(/\s+/).filter(Boolean).length, 0) > n,
    { timeout: 120000 }, firstPoints);
  expect(true, `admin: the live round advanced (${firstCompleted} -> ` +
               `${await text(page, '#completed')} rounds) and the curves gained points ` +
               `(${firstPoints} -> ${await points(page)}) without a reload`);
  expect((await page.$$('#site-states tr')).length >= 1, 'admin: each site\'s state is listed');
  expect(await page.$('#abort') !== null, 'admin: an abort button');
  await shot(page, 'job-live');

  for (const [url, name, check] of [['/sites', 'sites', '#sites'],
                                    ['/enrollments', 'enrollments', '#enrollments'],
                                    ['/audit', 'audit', '#verdict']]) {
    res = await page.goto(`${CONSOLE}${url}`);
    expect(res.status() === 200 && (await page.$(check)) !== null, `admin: ${url} opens`);
    await shot(page, name);
  }
  expect((await text(page, '#verdict')).includes('verifies'), 'admin: the audit chain verifies');
  const sites = await page.goto(`${CONSOLE}/sites`).then(() => text(page, '#sites'));
  expect(sites.includes('site-a') && sites.includes('in '), 'admin: sites with certificate expiry');

  await page.goto(`${CONSOLE}/jobs`);
  const input = await page.$('#submit input[type=file]');
  await input.uploadFile(BAD_JOB);
  await Promise.all([page.waitForNavigation(), page.click('#submit button')]);
  const error = await text(page, '#error');
  expect(error !== null && error.includes(`${path.basename(BAD_JOB)}:6`) &&
             error.includes('job.rounds'),
         `admin: a bad job file shows its line (${error})`);
  await shot(page, 'bad-job');
});

// A researcher: reads and downloads, has no abort and no admin pages.
await browse('rita', async (page) => {
  let res = await page.goto(`${CONSOLE}/jobs/${JOB}`);
  expect(res.status() === 200, 'researcher: the job page opens');
  expect(await page.$('#abort') === null, 'researcher: no abort button');
  expect(await page.$('#submit') === null, 'researcher: no submit form');
  const href = await page.$eval('#download', (a) => a.getAttribute('href'));
  const download = await page.evaluate(async (url) => {
    const r = await fetch(url, { credentials: 'same-origin' });
    const body = await r.arrayBuffer();
    return { status: r.status, sha: r.headers.get('X-Content-SHA256'), bytes: body.byteLength };
  }, href);
  expect(download.status === 200 && download.bytes > 1000 && /^[0-9a-f]{64}$/.test(download.sha),
         `researcher: downloads the pooled model (${download.bytes} bytes, SHA-256 ${download.sha})`);
  await shot(page, 'researcher-job');
  res = await page.goto(`${CONSOLE}/sites`);
  expect(res.status() === 403, 'researcher: the site registry is refused');
  const abort = await page.evaluate(async (url) => {
    const r = await fetch(url, { method: 'POST', credentials: 'same-origin' });
    return r.status;
  }, `/jobs/${JOB}/abort`);
  expect(abort === 403, 'researcher: an abort is refused');
});

// A site certificate and no certificate are refused, with the reason.
await browse('site-b', async (page) => {
  const res = await page.goto(`${CONSOLE}/jobs`);
  expect(res.status() === 403 && (await text(page, '#refusal')).includes('site certificate'),
         'site: refused, naming its site certificate');
  await shot(page, 'refused-site');
});
await browse('nobody', async (page) => {
  const res = await page.goto(`${CONSOLE}/jobs`);
  expect(res.status() === 403 && (await text(page, '#refusal')).includes('no client certificate'),
         'no certificate: refused, saying to import the .p12');
  await shot(page, 'refused-nobody');
});

// Last, the admin aborts the job from its page.
await browse('alice', async (page) => {
  await page.goto(`${CONSOLE}/jobs/${JOB}`);
  await Promise.all([page.waitForNavigation(), page.click('#abort button')]);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'aborted',
                             { timeout: 60000 });
  expect(true, 'admin: the job is aborted from the console');
  await shot(page, 'aborted');
});
console.log('console test: all passed');
