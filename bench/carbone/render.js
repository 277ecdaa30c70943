#!/usr/bin/env node
// Carbone CE side of bench/carbone_bench.py: renders a DOCX template in Carbone's syntax and converts it
// to PDF through Carbone's own pool of LibreOffice processes ("factories"), C documents at a time.
//
//   NODE_PATH=.cache/carbone/node_modules node bench/carbone/render.js \
//       --template bench/carbone/commitment-letter.docx --data data.json --factories 2 --temp /tmp/x
//
// Protocol, one JSON object per line:
//   stdout, once:  {"event": "ready", "startup_ms": …, "carbone": "3.8.2", "node": "v20…"}
//   stdin:         {"cmd": "run", "count": N, "clients": C, "save": "/path/last.pdf" | null}
//   stdout:        {"event": "done", "elapsed_ms": …, "latencies_ms": […], "errors": […], "pdf_bytes": …}
//   stdin:         {"cmd": "exit"}   (or end of input): stops the factories and exits
// Anything else Carbone prints goes to stderr.

'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

function option(name, fallback) {
  const index = process.argv.indexOf('--' + name);
  return index > 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const templatePath = path.resolve(option('template', path.join(__dirname, 'commitment-letter.docx')));
const dataPath = path.resolve(option('data', ''));
const factories = parseInt(option('factories', '1'), 10);
const tempPath = path.resolve(option('temp', require('os').tmpdir()));
const timeoutMs = parseInt(option('timeout-ms', '60000'), 10);

function emit(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

// Carbone prints nothing on stdout itself, but keep our protocol clean whatever a dependency does.
console.log = (...args) => process.stderr.write(args.join(' ') + '\n');

const carbone = require('carbone');
const converter = require('carbone/lib/converter');
const carboneVersion = require('carbone/package.json').version;

// The JSON payload as a caller would send it: parsed again for every document, like an HTTP body.
const payload = fs.readFileSync(dataPath, 'utf8');

const renderPath = path.join(tempPath, 'render');
fs.mkdirSync(renderPath, { recursive: true });
carbone.set({
  tempPath: tempPath,
  renderPath: renderPath,
  factories: factories,
  startFactory: false, // started just below, so that we know when every factory is ready
  converterFactoryTimeout: timeoutMs,
  attempts: 1,
  lang: 'zh-cn',
  timezone: 'Asia/Shanghai'
});

const started = process.hrtime.bigint();
const ms = (from) => Number(process.hrtime.bigint() - from) / 1e6;

// converter.init with startFactory starts every LibreOffice + Python factory and calls back when all are ready
// (carbone.set would start them too, but without telling when they are up).
converter.init({ startFactory: true }, () => {
  emit({ event: 'ready', startup_ms: ms(started), carbone: carboneVersion, node: process.version, factories: factories });
  listen();
});

function renderOne() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    carbone.render(templatePath, JSON.parse(payload), { convertTo: 'pdf' }, (err, result) => {
      resolve({ ms: ms(t0), err: err ? String(err) : null, pdf: err ? null : result });
    });
  });
}

async function run(count, clients, save) {
  const latencies = [];
  const errors = [];
  let next = 0;
  let bytes = 0;
  let last = null;
  const t0 = process.hrtime.bigint();
  async function client() {
    while (next < count) {
      next += 1;
      const result = await renderOne();
      if (result.err) {
        errors.push(result.err);
      } else {
        latencies.push(result.ms);
        bytes += result.pdf.length;
        last = result.pdf;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, clients) }, client));
  const elapsed = ms(t0);
  if (save && last) {
    fs.writeFileSync(save, last);
  }
  emit({ event: 'done', elapsed_ms: elapsed, latencies_ms: latencies, errors: errors.slice(0, 5), error_count: errors.length,
    pdf_bytes: latencies.length ? Math.round(bytes / latencies.length) : 0 });
}

function stop(code) {
  converter.exit(() => process.exit(code));
  setTimeout(() => process.exit(code), 3000).unref();
}

function listen() {
  const lines = readline.createInterface({ input: process.stdin });
  let busy = Promise.resolve();
  lines.on('line', (line) => {
    let command;
    try {
      command = JSON.parse(line);
    } catch (e) {
      emit({ event: 'error', error: 'bad command: ' + line });
      return;
    }
    busy = busy.then(async () => {
      if (command.cmd === 'run') {
        await run(Math.max(0, command.count | 0), Math.max(1, command.clients | 0), command.save || null);
      } else if (command.cmd === 'exit') {
        stop(0);
      } else {
        emit({ event: 'error', error: 'unknown command: ' + command.cmd });
      }
    });
  });
  lines.on('close', () => busy.then(() => stop(0)));
}

process.on('SIGTERM', () => stop(143));
