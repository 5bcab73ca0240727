#!/usr/bin/env node
// Minimal HTTP receiver for the mtulab network-namespace lab (lab/mtulab.sh).
//
//   node http-server.js [--port 8888] [--host 0.0.0.0]
//
// * Any request with a body (POST/PUT): reads all Content-Length bytes and answers
//   `200 received N bytes` (400 if fewer/more bytes arrived than Content-Length said).
// * GET /bytes/N: answers 200 with N bytes of 'x' (download direction, data flows server -> client).
// * Any other GET: `200 received 0 bytes`.
// Prints one `listening HOST:PORT pid PID` line on stdout once bound; mtulab.sh waits for it.
// `python3 -m http.server` cannot be used: it answers 501 to POST.
'use strict';

const http = require('http');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const port = Number(arg('port', process.env.PORT || '8888'));
const host = arg('host', '0.0.0.0');

const server = http.createServer((req, res) => {
  let received = 0;
  req.on('data', (chunk) => {
    received += chunk.length;
  });
  req.on('error', () => {});
  req.on('end', () => {
    const m = /^\/bytes\/(\d{1,9})$/.exec(req.url || '');
    if (req.method === 'GET' && m) {
      const size = Number(m[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      res.end(Buffer.alloc(size, 0x78));
      return;
    }
    const declared = req.headers['content-length'];
    const status = declared !== undefined && Number(declared) !== received ? 400 : 200;
    const body = `received ${received} bytes\n`;
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 1000;
server.on('clientError', (_err, socket) => socket.destroy());
server.listen(port, host, () => {
  process.stdout.write(`listening ${host}:${port} pid ${process.pid}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));
