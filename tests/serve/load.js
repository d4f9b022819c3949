// load.js: C concurrent streaming clients (the official `openai` client) send
// R chat requests in all to r1 serve, and report errors, generated tokens/s,
// the median time to first token and the server's RSS (VmRSS from
// /proc/PID/status) after warm-up and at the end.
// Usage: node tests/serve/load.js PORT MODEL KEY CLIENTS REQUESTS MAX_TOKENS [SERVER_PID]
// Prints one JSON line, then "load: P passed, F failed" (F = requests that failed).
'use strict';
const fs = require('fs');
const path = require('path');
const OpenAI = require(path.resolve('tests/peers/serve/node_modules/openai')).default;

const [port, model, key, clientsArg, requestsArg, maxTokArg, pidArg] = process.argv.slice(2);
const clients = Number(clientsArg), total = Number(requestsArg), maxTokens = Number(maxTokArg);
const pid = pidArg ? Number(pidArg) : 0;
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key, maxRetries: 0, timeout: 120000 });

function rssKb() {
  if (!pid) return 0;
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

const words = ['alpha', 'beta', 'gamma', 'delta', 'river', 'stone', 'cloud', 'seven', 'think', 'answer'];
let next = 0, done = 0, errors = 0, tokens = 0;
const ttft = [], errs = [];
const warmAt = Math.max(1, Math.floor(total / 4));
let rssWarm = 0, rssMax = 0;

async function one(i) {
  const n = 3 + (i * 7) % 20;
  const content = Array.from({ length: n }, (_, k) => words[(i + k * 3) % words.length]).join(' ');
  const t0 = performance.now();
  let first = 0, usage = null;
  const s = await client.chat.completions.create({
    model, messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true },
    max_tokens: maxTokens, temperature: 0.8, seed: i,
  });
  for await (const c of s) {
    if (!first && c.choices.length && (c.choices[0].delta.content || c.choices[0].delta.reasoning_content)) first = performance.now();
    if (c.usage) usage = c.usage;
  }
  if (!usage) throw new Error('no usage chunk');
  if (first) ttft.push(first - t0);
  tokens += usage.completion_tokens;
}

async function worker() {
  while (next < total) {
    const i = next++;
    try { await one(i); } catch (e) { errors++; if (errs.length < 5) errs.push(String(e.message || e)); }
    done++;
    if (done === warmAt) rssWarm = rssKb();
    if (done > warmAt) rssMax = Math.max(rssMax, rssKb());
  }
}

(async () => {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, worker));
  const secs = (performance.now() - t0) / 1000;
  ttft.sort((a, b) => a - b);
  const out = {
    clients, requests: total, errors, tokens, seconds: +secs.toFixed(3),
    tok_per_s: +(tokens / secs).toFixed(1), req_per_s: +(total / secs).toFixed(1),
    ttft_median_ms: ttft.length ? +ttft[Math.floor(ttft.length / 2)].toFixed(1) : null,
    ttft_p90_ms: ttft.length ? +ttft[Math.floor(ttft.length * 0.9)].toFixed(1) : null,
    rss_warm_kb: rssWarm, rss_end_kb: rssKb(), rss_max_kb: rssMax, first_errors: errs,
  };
  console.log(JSON.stringify(out));
  console.log(`load: ${total - errors} passed, ${errors} failed`);
  process.exit(errors ? 1 : 0);
})();
