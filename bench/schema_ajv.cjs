// bench/schema's peer: Ajv 8 (compiled schema, ajv-formats) validating one payload in a loop,
// JSON.parse included. Same protocol as schema_bench.c: SCHEMA PAYLOAD SECONDS, prints
// "ajv RATE NS_PER_OP" after a warm-up of SECONDS/5. Run by bench/schema.
'use strict';
const fs = require('fs');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const [schemaPath, payloadPath, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg) > 0 ? Number(secondsArg) : 3;
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
// the payload as a sender posts it: compact JSON
const text = JSON.stringify(JSON.parse(fs.readFileSync(payloadPath, 'utf8')));

// allErrors: every error is collected, as webhooky does; strict off: titles and descriptions
// next to const are fine
const ajv = new Ajv({allErrors: true, strict: false});
addFormats(ajv);
const validate = ajv.compile(schema);

function one() {
  return validate(JSON.parse(text));
}

function measure(secs) {
  let n = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.round(secs * 1e9));
  let t;
  do {
    for (let i = 0; i < 1000; i++) {
      if (!one()) {
        console.error('schema_ajv: the payload is not valid: ' + JSON.stringify(validate.errors));
        process.exit(1);
      }
    }
    n += 1000;
  } while ((t = process.hrtime.bigint() - t0) < limit);
  return n / (Number(t) / 1e9);
}

measure(seconds / 5); // warm-up: let the JIT settle
const rate = measure(seconds);
console.log(`bytes ${Buffer.byteLength(text)}`);
console.log(`ajv ${rate.toFixed(0)} ${(1e9 / rate).toFixed(0)}`);
console.log(`versions ajv ${require('ajv/package.json').version} ajv-formats ${require('ajv-formats/package.json').version} node ${process.versions.node}`);
