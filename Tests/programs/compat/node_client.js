// node_client.js fetch URL        -- global fetch, 5 s timeout
// node_client.js dnsnet NAME PORT -- dns.promises.resolve4(NAME) (resolv.conf), then net.connect
// Prints "ok" or "error: ..." (exit 1).
'use strict';
const dns = require('dns');
const net = require('net');

function fail(e) {
  const cause = e && e.cause ? ` (${e.cause.code || e.cause.message || e.cause})` : '';
  console.log(`error: ${e && (e.code || e.name)}: ${e && e.message}${cause}`);
  process.exit(1);
}

async function viaFetch(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  if (!body.startsWith('hello')) throw new Error(`unexpected body ${JSON.stringify(body.slice(0, 40))}`);
}

async function viaDnsNet(name, port) {
  const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
  const addrs = await resolver.resolve4(name);
  if (!addrs.length) throw new Error('no A record');
  const body = await new Promise((resolve, reject) => {
    const s = net.connect({ host: addrs[0], port: Number(port), timeout: 5000 });
    let data = '';
    s.on('connect', () => s.write(`GET / HTTP/1.0\r\nHost: ${name}:${port}\r\n\r\n`));
    s.on('data', (d) => { data += d; });
    s.on('timeout', () => { s.destroy(); reject(new Error('timeout')); });
    s.on('error', reject);
    s.on('end', () => resolve(data));
  });
  const i = body.indexOf('\r\n\r\n');
  if (i < 0 || !body.slice(i + 4).startsWith('hello')) throw new Error(`unexpected reply ${JSON.stringify(body.slice(0, 40))}`);
}

const [mode, ...args] = process.argv.slice(2);
let p;
if (mode === 'fetch' && args.length === 1) p = viaFetch(args[0]);
else if (mode === 'dnsnet' && args.length === 2) p = viaDnsNet(args[0], args[1]);
else { console.error('usage: node_client.js fetch URL | dnsnet NAME PORT'); process.exit(2); }
p.then(() => console.log('ok'), fail);
