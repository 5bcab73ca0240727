#!/usr/bin/env node
// Traffic for the lab's healing and MTU-change scenarios (lab/healing.ts), run inside a lab
// namespace with `ip netns exec`. No dependencies. Every mode runs until SIGTERM (or --seconds),
// then prints one JSON line with what it saw and exits 0.
//
//   node traffic.js sink --port P
//       TCP receiver: counts the bytes of every connection and writes "<total>\n" back at most
//       every 20 ms while bytes arrive, so the sender learns what was delivered.
//   node traffic.js stream --host H --port P [--count N] [--chunk 4000] [--tick-ms 10]
//       N long-lived connections, each writing a chunk every tick (at most 256 KB unsent); prints
//       per connection the delivery timeline ([ms since start, delivered bytes] every 100 ms) and
//       how it ended.
//   node traffic.js posts --host H --port P [--every-ms 100] [--size 1616] [--timeout-ms 5000]
//       a new connection every interval, each an HTTP POST of a SIZE-byte JSON body to the lab's
//       http-server.js (answer "received SIZE bytes"); prints every attempt: start, ms, result.
//
// Times are Date.now() milliseconds, so the orchestrator (same host, same clock) can place its
// own events (a shrink, a node step) on the same axis.
'use strict';

const net = require('net');
const http = require('http');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const num = (name, dflt) => {
  const v = Number(arg(name, String(dflt)));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: expected a number, got ${arg(name)}`);
  return v;
};
const mode = process.argv[2];
const seconds = num('seconds', 0);
const port = num('port', 9000);
const host = arg('host', '127.0.0.1');
const started = Date.now();
let finish = () => process.exit(0);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => finish());
if (seconds > 0) setTimeout(() => finish(), seconds * 1000);
const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

if (mode === 'sink') {
  let conns = 0;
  const server = net.createServer((s) => {
    conns++;
    let total = 0;
    let reported = 0;
    let timer = null;
    const report = () => {
      timer = null;
      if (total !== reported && !s.destroyed) {
        reported = total;
        s.write(`${total}\n`);
      }
    };
    s.on('data', (d) => {
      total += d.length;
      if (timer === null) timer = setTimeout(report, 20);
    });
    s.on('error', () => {});
    s.on('end', () => {
      report();
      s.end();
    });
  });
  server.listen(port, '0.0.0.0', () => process.stdout.write(`listening ${port}\n`));
  finish = () => {
    print({ mode, port, connections: conns });
    process.exit(0);
  };
} else if (mode === 'stream') {
  const count = num('count', 1);
  const chunk = Buffer.alloc(num('chunk', 4000), 0x61);
  const tick = num('tick-ms', 10);
  const conns = [];
  for (let i = 0; i < count; i++) {
    const c = { id: i, sent: 0, delivered: 0, connectedAt: null, ended: null, error: null, timeline: [] };
    conns.push(c);
    const s = net.connect({ host, port });
    c.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => { c.connectedAt = Date.now() - started; });
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) if (/^\d+$/.test(l)) c.delivered = Math.max(c.delivered, Number(l));
    });
    s.on('error', (e) => { c.error = c.error ?? e.code ?? e.message; });
    s.on('close', () => { c.ended = c.ended ?? Date.now() - started; });
  }
  const writer = setInterval(() => {
    for (const c of conns) {
      const s = c.socket;
      if (c.connectedAt === null || s.destroyed || c.ended !== null) continue;
      if (s.writableLength < 256 * 1024) {
        s.write(chunk);
        c.sent += chunk.length;
      }
    }
  }, tick);
  const sampler = setInterval(() => {
    const t = Date.now() - started;
    for (const c of conns) {
      const last = c.timeline[c.timeline.length - 1];
      if (!last || last[1] !== c.delivered) c.timeline.push([t, c.delivered]);
    }
  }, 100);
  finish = () => {
    clearInterval(writer);
    clearInterval(sampler);
    const t = Date.now() - started;
    print({
      mode, host, port, started, ms: t,
      connections: conns.map((c) => {
        c.timeline.push([t, c.delivered]);
        return { id: c.id, connectedAt: c.connectedAt, sent: c.sent, delivered: c.delivered, ended: c.ended, error: c.error, timeline: c.timeline };
      }),
    });
    for (const c of conns) c.socket.destroy();
    process.exit(0);
  };
} else if (mode === 'posts') {
  const every = num('every-ms', 100);
  const size = num('size', 1616);
  const timeoutMs = num('timeout-ms', 5000);
  const body = `{"d":"${'x'.repeat(Math.max(0, size - 8))}"}`;
  const attempts = [];
  let pending = 0;
  const one = () => {
    const a = { start: Date.now() - started, ms: null, result: 'pending' };
    attempts.push(a);
    pending++;
    const t0 = Date.now();
    const done = (result) => {
      if (a.result !== 'pending') return;
      a.result = result;
      a.ms = Date.now() - t0;
      pending--;
    };
    const req = http.request({
      host, port, method: 'POST', path: '/', agent: false, timeout: timeoutMs,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => done(res.statusCode === 200 && text.trim() === `received ${size} bytes` ? 'ok' : 'fail'));
    });
    req.on('timeout', () => { req.destroy(); done('hang'); });
    req.on('error', () => done('fail'));
    req.end(body);
  };
  const timer = setInterval(one, every);
  one();
  finish = () => {
    clearInterval(timer);
    // attempts still in flight get their own timeout to finish, then everything is printed
    const deadline = Date.now() + timeoutMs + 200;
    const wait = () => {
      if (pending > 0 && Date.now() < deadline) return setTimeout(wait, 50);
      print({ mode, host, port, started, size, attempts });
      process.exit(0);
    };
    finish = () => {};
    wait();
  };
} else {
  process.stderr.write('usage: traffic.js sink|stream|posts [options] (see the header)\n');
  process.exit(2);
}
