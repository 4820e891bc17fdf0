// k6 load test of linedispatch through the producer gateway (POST /v1/intents).
//
// Two constant-arrival-rate scenarios share RATE intents/s:
//   single  - one intent per request, SINGLE_SHARE of the intents
//   batched - {"intents": [...]} of BATCH intents per request, the rest
//
// Every intent carries the run's marker so that loadtest/verify can check it
// after the run, per intent, against LINE_OUTCOMES and linesim:
//   labels.k6run = RUN_ID               which run it belongs to
//   labels.seq   = s<iter> | b<iter>.<i> its place in the run (unique)
//   labels.to    = its recipients        unique per intent, derived from RUN_ID and seq
//   message text "k6 <RUN_ID> <seq> #<n>" unique, so linesim's duplicate detection is exact
// The gateway mints id and createdAt (they are left out on purpose).
//
// Environment (defaults in brackets):
//   GATEWAY_URL   producer gateway base URL [http://127.0.0.1:8090]
//   RUN_ID        run marker, [A-Za-z0-9_.-] [k6-<epoch ms>]
//   RATE          intents per second, both scenarios together [100]
//   DURATION      k6 duration of the arrival phase [10s]
//   BOTS          bots used, devstack.BotID(0..BOTS-1) [20]
//   BOT_IDS       explicit comma-separated bot user IDs (overrides BOTS)
//   CHANNEL       module channel ID [1234567890]
//   ENDPOINT_MIX  endpoint weights, e.g. push=0.9,multicast=0.1 [push=0.9,multicast=0.1]
//                 (push, multicast, markasread, broadcast, narrowcast; keep
//                 multicast within 200/s per bot, broadcast and narrowcast
//                 within 60/h per bot or the dispatcher queues them for hours)
//   MULTICAST_TO  recipients per multicast [3]
//   UNITS         comma-separated unit names for push and multicast, cycled; empty: none [k6_load]
//   SINGLE_SHARE  share of intents posted one per request, 0..1 [0.2]
//   BATCH         intents per batched request, 1..1000 [20]
//   NOT_AFTER     intent deadline from now, e.g. 30m; empty: the default 12 h []
//   P95_MS, P99_MS  latency thresholds of accepted requests [500, 1500]
//   MAX_ERROR_RATE  threshold on gateway errors (non-202 or transport) [0.001]
//   PRE_VUS, MAX_VUS  VUs per scenario [max(20, requests/s x 1 s single, x 2 s batched), 400]
//   MAX_DROPPED   share of planned iterations that may be dropped (no free VU) [0.002]
//
//   k6 run -e RATE=1000 -e DURATION=60s -e BOTS=20 --summary-export summary.json loadtest/k6/intents.js
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';

const env = (k, d) => (__ENV[k] !== undefined && __ENV[k] !== '' ? __ENV[k] : d);
const num = (k, d) => {
  const v = Number(env(k, d));
  if (!Number.isFinite(v)) throw new Error(`${k}: not a number: ${__ENV[k]}`);
  return v;
};

const GATEWAY = env('GATEWAY_URL', 'http://127.0.0.1:8090').replace(/\/+$/, '');
const RUN_ID = env('RUN_ID', `k6-${Date.now()}`);
const RATE = num('RATE', 100);
const DURATION = env('DURATION', '10s');
const CHANNEL = env('CHANNEL', '1234567890');
const MULTICAST_TO = num('MULTICAST_TO', 3);
const SINGLE_SHARE = num('SINGLE_SHARE', 0.2);
const BATCH = num('BATCH', 20);
const NOT_AFTER = env('NOT_AFTER', '');
const UNITS = env('UNITS', 'k6_load').split(',').map((s) => s.trim()).filter((s) => s !== '');
// VUs: a new VU mid-run costs a script start, and an iteration that finds no
// free VU is dropped; so allocate up front for `latency` seconds per request
// (batched requests wait for the acks of all their intents: give them more).
const preVUs = (perSecond, latency) => num('PRE_VUS', Math.max(20, Math.ceil(perSecond * latency)));
const MAX_VUS = num('MAX_VUS', 400);

if (!/^[A-Za-z0-9_.\-]{1,100}$/.test(RUN_ID)) throw new Error(`RUN_ID: want [A-Za-z0-9_.-]{1,100}, got ${RUN_ID}`);
if (RATE <= 0) throw new Error('RATE must be positive');
if (SINGLE_SHARE < 0 || SINGLE_SHARE > 1) throw new Error('SINGLE_SHARE must be in 0..1');
if (BATCH < 1 || BATCH > 1000 || !Number.isInteger(BATCH)) throw new Error('BATCH must be an integer in 1..1000');
if (MULTICAST_TO < 1 || MULTICAST_TO > 500 || !Number.isInteger(MULTICAST_TO)) throw new Error('MULTICAST_TO must be in 1..500');
for (const u of UNITS) if (!/^[A-Za-z0-9_]{1,30}$/.test(u)) throw new Error(`UNITS: bad unit name ${u}`);

// Bot user IDs: internal/devstack.BotID(i) = "U" + %032x of 0xb0700000+i.
function botID(i) {
  return 'U' + (0xb0700000 + i).toString(16).padStart(32, '0');
}
const BOTS = env('BOT_IDS', '') !== ''
  ? env('BOT_IDS', '').split(',').map((s) => s.trim())
  : Array.from({ length: num('BOTS', 20) }, (_, i) => botID(i));
if (BOTS.length === 0) throw new Error('no bots');
for (const b of BOTS) if (!/^U[0-9a-f]{32}$/.test(b)) throw new Error(`bad bot ID ${b}`);

// ENDPOINT_MIX "push=0.9,multicast=0.1" -> cumulative weights.
const KNOWN = ['push', 'multicast', 'markasread', 'broadcast', 'narrowcast'];
const MIX = (() => {
  const parts = env('ENDPOINT_MIX', 'push=0.9,multicast=0.1').split(',').map((s) => s.trim()).filter((s) => s);
  let total = 0;
  const out = [];
  for (const p of parts) {
    const [ep, w] = p.split('=');
    if (!KNOWN.includes(ep)) throw new Error(`ENDPOINT_MIX: unknown endpoint ${ep} (want ${KNOWN.join(', ')})`);
    const weight = w === undefined ? 1 : Number(w);
    if (!(weight >= 0)) throw new Error(`ENDPOINT_MIX: bad weight in ${p}`);
    total += weight;
    out.push([ep, total]);
  }
  if (total <= 0) throw new Error('ENDPOINT_MIX: weights sum to 0');
  return out.map(([ep, c]) => [ep, c / total]);
})();

// FNV-1a of the run ID: 8 hex digits that start every recipient of the run.
const RUN_HEX = (() => {
  let h = 0x811c9dc5;
  for (let i = 0; i < RUN_ID.length; i++) {
    h ^= RUN_ID.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
})();

const hex = (n, width) => Math.floor(n).toString(16).padStart(width, '0').slice(-width);

// A recipient unique per (intent, j): U + run(8) + scenario(1) + iteration(13) + index(6) + j(4).
function recipient(scenarioCode, iter, index, j) {
  return 'U' + RUN_HEX + scenarioCode + hex(iter, 13) + hex(index, 6) + hex(j, 4);
}

// The endpoint of an intent: a deterministic spread over the mix.
function pickEndpoint(k) {
  // golden-ratio sequence: well spread, reproducible per k
  const x = (k * 0.6180339887498949) % 1;
  for (const [ep, c] of MIX) if (x < c) return ep;
  return MIX[MIX.length - 1][0];
}

function deadline() {
  if (NOT_AFTER === '') return undefined;
  const m = /^(\d+)(s|m|h)$/.exec(NOT_AFTER);
  if (!m) throw new Error(`NOT_AFTER: want e.g. 30m, got ${NOT_AFTER}`);
  const ms = Number(m[1]) * { s: 1000, m: 60000, h: 3600000 }[m[2]];
  return new Date(Date.now() + ms).toISOString();
}

// makeIntent builds intent `index` of iteration `iter` of a scenario.
function makeIntent(scenarioCode, iter, index, k) {
  const seq = scenarioCode === '1' ? `s${iter}` : `b${iter}.${index}`;
  const bot = BOTS[k % BOTS.length];
  const endpoint = pickEndpoint(k);
  const text = (n) => ({ type: 'text', text: `k6 ${RUN_ID} ${seq} #${n}` });
  const labels = { k6run: RUN_ID, seq };
  let body;
  let unit;
  switch (endpoint) {
    case 'push': {
      const to = recipient(scenarioCode, iter, index, 0);
      body = { to, messages: [text(0)] };
      labels.to = to;
      unit = UNITS.length ? UNITS[k % UNITS.length] : undefined;
      break;
    }
    case 'multicast': {
      const to = Array.from({ length: MULTICAST_TO }, (_, j) => recipient(scenarioCode, iter, index, j));
      body = { to, messages: [text(0)] };
      // labels hold at most 256 characters: list recipients only when they fit
      const joined = to.join(',');
      if (joined.length <= 256) labels.to = joined;
      unit = UNITS.length ? UNITS[k % UNITS.length] : undefined;
      break;
    }
    case 'markasread':
      body = { chat: { userId: recipient(scenarioCode, iter, index, 0) } };
      break;
    case 'broadcast':
      body = { messages: [text(0)] };
      break;
    case 'narrowcast':
      body = { messages: [text(0)], limit: { max: 10 } };
      break;
  }
  const it = { channel: CHANNEL, bot, endpoint, body, labels };
  if (unit) it.unit = unit;
  const na = deadline();
  if (na) it.notAfter = na;
  return it;
}

// Metrics the verify step and the thresholds read.
const accepted = new Counter('intents_accepted'); // intents in 202 answers
const duplicates = new Counter('intents_duplicate'); // of which the gateway reported duplicates
const refused = new Counter('intents_refused'); // intents of requests that did not get 202
const gatewayErrors = new Rate('gateway_errors'); // requests not answered 202

const singleRate = RATE * SINGLE_SHARE;
const batchedRate = (RATE * (1 - SINGLE_SHARE)) / BATCH;

// constant-arrival-rate wants an integer rate per timeUnit: express both in
// iterations per minute when the per-second rate is fractional.
function arrival(perSecond) {
  if (Number.isInteger(perSecond)) return { rate: perSecond, timeUnit: '1s' };
  return { rate: Math.max(1, Math.round(perSecond * 60)), timeUnit: '1m' };
}

// seconds of a k6 duration string such as 60s, 1m30s, 500ms
function seconds(d) {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0;
  let m;
  let matched = '';
  while ((m = re.exec(d)) !== null) {
    total += Number(m[1]) * unit[m[2]];
    matched += m[0];
  }
  if (matched !== d || total <= 0) throw new Error(`DURATION: want e.g. 60s or 1m30s, got ${d}`);
  return total;
}
const plannedIterations = (singleRate + batchedRate) * seconds(DURATION);

const scenarios = {};
if (singleRate > 0) {
  scenarios.single = {
    executor: 'constant-arrival-rate',
    exec: 'single',
    ...arrival(singleRate),
    duration: DURATION,
    preAllocatedVUs: preVUs(singleRate, 1),
    maxVUs: MAX_VUS,
    gracefulStop: '30s',
  };
}
if (batchedRate > 0) {
  scenarios.batched = {
    executor: 'constant-arrival-rate',
    exec: 'batched',
    ...arrival(batchedRate),
    duration: DURATION,
    preAllocatedVUs: preVUs(batchedRate, 2),
    maxVUs: MAX_VUS,
    gracefulStop: '30s',
  };
}

export const options = {
  scenarios,
  discardResponseBodies: false,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  thresholds: {
    gateway_errors: [`rate<=${num('MAX_ERROR_RATE', 0.001)}`],
    http_req_failed: [`rate<=${num('MAX_ERROR_RATE', 0.001)}`],
    'http_req_duration{expected_response:true}': [`p(95)<${num('P95_MS', 500)}`, `p(99)<${num('P99_MS', 1500)}`],
    intents_accepted: ['count>0'],
    // the gateway had to keep up: iterations dropped for want of a free VU
    // mean the offered rate was not reached
    dropped_iterations: [`count<=${Math.max(5, Math.floor(plannedIterations * num('MAX_DROPPED', 0.002)))}`],
    checks: ['rate>=0.999'],
  },
  setupTimeout: '30s',
};

const params = {
  headers: { 'Content-Type': 'application/json' },
  timeout: '60s',
  responseCallback: http.expectedStatuses(202),
};

function post(payload, n, tag) {
  const res = http.post(`${GATEWAY}/v1/intents`, JSON.stringify(payload), Object.assign({ tags: { kind: tag } }, params));
  let ids = 0;
  let dups = 0;
  if (res.status === 202) {
    try {
      const b = res.json();
      ids = Array.isArray(b.ids) ? b.ids.length : 0;
      dups = b.duplicates || 0;
    } catch (e) {
      ids = 0;
    }
  }
  const ok = check(res, {
    'status 202': (r) => r.status === 202,
    'one id per intent': () => ids === n,
  });
  gatewayErrors.add(res.status !== 202, { kind: tag });
  if (res.status === 202) {
    accepted.add(ids, { kind: tag });
    if (dups) duplicates.add(dups, { kind: tag });
  } else {
    refused.add(n, { kind: tag });
    if (exec.scenario.iterationInTest < 5 || Math.random() < 0.01) {
      console.warn(`gateway answered ${res.status} ${res.error || ''}: ${String(res.body).slice(0, 300)}`);
    }
  }
  return ok;
}

export function setup() {
  const res = http.get(`${GATEWAY}/healthz`, { timeout: '10s' });
  if (res.status !== 200) {
    exec.test.abort(`gateway ${GATEWAY}/healthz answered ${res.status}: ${res.body}`);
  }
  console.log(`k6 run ${RUN_ID}: ${RATE} intents/s for ${DURATION} over ${BOTS.length} bots, ` +
    `single ${singleRate}/s, batched ${batchedRate.toFixed(2)} req/s x ${BATCH}, mix ${env('ENDPOINT_MIX', 'push=0.9,multicast=0.1')}, ` +
    `units ${UNITS.join(',') || '(none)'}, gateway ${GATEWAY}`);
  return { runId: RUN_ID };
}

export function single() {
  const iter = exec.scenario.iterationInTest;
  post(makeIntent('1', iter, 0, iter * 7919), 1, 'single');
}

export function batched() {
  const iter = exec.scenario.iterationInTest;
  const intents = [];
  for (let i = 0; i < BATCH; i++) intents.push(makeIntent('2', iter, i, iter * BATCH + i + 104729));
  post({ intents }, BATCH, 'batched');
}

// Default function, for `k6 run` without scenarios (never used by options).
export default function () {
  single();
}
