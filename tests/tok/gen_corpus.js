// gen_corpus.js: writes the tokenizer comparison corpus to stdout, one JSON
// string per line (JSONL). Deterministic (a fixed-seed mulberry32), so the
// corpus is rebuilt identically by every test run instead of being committed.
//
// Character choice: only code points assigned before Unicode 13 are used.
// r1 classifies characters with Debian's PCRE2 (Unicode 14 tables) and the JS
// peer with Node's ICU (Unicode 15); characters added later can be classified
// differently by the two, which would be a Unicode-version difference, not a
// tokenizer bug. U+0085 and U+FEFF are left out for the same reason: JS's \s
// includes U+FEFF and excludes U+0085, Unicode White_Space (HF/Oniguruma and
// r1) does the opposite. Lone surrogates cannot be written in UTF-8 and are
// never produced.
//
// Text that NFC changes (for the Qwen tokenizer, whose normalizer is NFC):
// decomposed accents, conjoining Hangul jamo, combining marks out of canonical
// order, composition exclusions, singletons and non-starter decompositions —
// all assigned before Unicode 4, so normalization agrees across versions.
"use strict";
const N = +(process.argv[2] || 6000);
let seed = 0x5EED1234;
function rnd() {
  seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const pick = (a) => a[Math.floor(rnd() * a.length)];
const cp = (lo, hi) => String.fromCodePoint(ri(lo, hi));
const cps = (s, n) => Array.from(s).slice(0, n).join(""); // never splits a surrogate pair
const rep = (f, n) => { let s = ""; for (let i = 0; i < n; i++) s += f(); return s; };

const WORDS = ("the of and to in is was he for it with as his on be at by had are but from or " +
  "have an they which one you were her all she there would their we him been has when who will more no " +
  "if out so said what up its about into than them can only other new some could time these two may then " +
  "do first any my now such like our over man me even most made after also did many before must through " +
  "back years where much your way well down should because each just those people how too little state good " +
  "very make world still own see men work long get here between both life being under never day same another " +
  "know while last might us great old year off come since against go came right used take three tokenizer " +
  "Transformer DeepSeek reasoning mixture-of-experts attention latent GPU CPU HTTP JSON don't can't I'm " +
  "you're we've they'll she'd It's WON'T O'Neil naïve café résumé coöperate façade Zürich São Paulo").split(" ");
const ZH = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域读";
const KANJI = "日本語東京大学先生時間漢字仮名今日明日月火水木金土曜朝昼夜駅電車会社";
const HIRA = [0x3041, 0x3096], KATA = [0x30A1, 0x30FA], HALF = [0xFF66, 0xFF9D], HANGUL = [0xAC00, 0xD7A3];
const SCRIPTS = [
  [0x0410, 0x044F], [0x0391, 0x03C9], [0x05D0, 0x05EA], [0x0627, 0x064A], [0x0905, 0x0939], [0x0E01, 0x0E30],
  [0x00C0, 0x00FF], [0x0100, 0x017F], [0x0530 + 1, 0x0556], [0x10A0, 0x10C5], [0x1200, 0x1248], [0x0B85, 0x0B94],
];
const MARKS = [[0x0300, 0x036F], [0x093E, 0x094D], [0x0E31, 0x0E3A], [0x064B, 0x065F], [0x20D0, 0x20F0]];
const EMOJI = [[0x1F600, 0x1F64F], [0x1F300, 0x1F5FF], [0x1F680, 0x1F6D2], [0x2600, 0x26FF], [0x2700, 0x27BF], [0x1F910, 0x1F93E]];
const SPACES = [" ", " ", " ", "\t", "\n", "\r\n", "\r", "\u00A0", "\u3000", "\u2003", "\u2009", "\u200A", "\u2028", "\u2029", "\u202F", "\u205F", "\u1680", "\f", "\v"];
const PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~、。，！？：；（）【】《》「」『』…—–·•§¶©®™°±×÷€£¥¢‰′″‹›«»¿¡";
const DIGITS = [[0x30, 0x39], [0x30, 0x39], [0x30, 0x39], [0xFF10, 0xFF19], [0x0660, 0x0669], [0x0966, 0x096F], [0x2460, 0x2473], [0x2160, 0x217F], [0x00B2, 0x00B3], [0x2070, 0x2079]];

let SPECIAL = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>",
  "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜▁pad▁｜>", "<|EOT|>",
  "<｜place▁holder▁no▁17｜>", "<｜fim▁hole｜>", "<｜User", "｜>", "<｜", "<｜end▁of▁sentence", "<<｜User｜>>", "<｜User｜><｜User｜>",
  // Llama 3 and Qwen added tokens (ordinary text for the others)
  "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>", "<|reserved_special_token_5|>",
  "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<tool_call>", "<|fim_prefix|>", "<|im_start", "|>", "<|eot_id|><|eot_id|>"];

const word = () => { let w = pick(WORDS); const r = rnd(); if (r < 0.1) w = w.toUpperCase(); else if (r < 0.25) w = w[0].toUpperCase() + w.slice(1); return w; };
const english = () => { let s = ""; const n = ri(1, 25); for (let i = 0; i < n; i++) { s += (i ? pick([" ", " ", " ", "  ", ", ", ". ", "; ", " - ", "\n"]) : "") + word(); } return s + pick([".", "!", "?", "", "...", ":", "\n"]); };
const chinese = () => rep(() => rnd() < 0.85 ? pick(ZH) : pick("，。！？、：；“”（）0123456789 abc"), ri(1, 60));
const japanese = () => rep(() => { const r = rnd(); return r < 0.35 ? cp(...HIRA) : r < 0.6 ? cp(...KATA) : r < 0.75 ? pick(KANJI) : r < 0.82 ? cp(...HALF) : pick("ー、。・「」！？ 123"); }, ri(1, 50));
const korean = () => rep(() => rnd() < 0.8 ? cp(...HANGUL) : pick(" .,?!0123"), ri(1, 50));
const number = () => { const len = ri(1, 48); let s = rep(() => cp(...(rnd() < 0.9 ? [0x30, 0x39] : pick(DIGITS))), len); const r = rnd(); if (r < 0.2) s = "-" + s; else if (r < 0.35) s = s.slice(0, Math.ceil(len / 2)) + "." + s.slice(Math.ceil(len / 2)); else if (r < 0.45) s = s.replace(/\B(?=(\d{3})+(?!\d))/g, ","); return s; };
const numbers = () => rep(() => number() + pick([" ", "", "+", "x", "%", " km", "元", "年", "\n", "e10", "th "]), ri(1, 6));
const CODE = [
  "int main(int argc, char **argv) {\n\treturn 0;\n}\n", "def f(x):\n    return x**2 + 1  # square\n",
  "for (let i = 0; i < n; ++i) { sum += a[i] * b[i]; }", "    if (x != NULL && *x == '\\0') goto fail;\n",
  "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;", "#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))",
  "const re = /^[a-z]+$/i; // regex\n", "x = [1, 2, 3]\ny = {'k': \"v\", 'n': None}\n", "fn main() -> Result<(), Box<dyn Error>> {",
  "  \t  \n\n\n    return self.__dict__['_x'];", "$ ls -la /usr/bin | grep -E '^-rwx' && echo \"done\" >> log.txt 2>&1",
  "<div class=\"x\">&nbsp;&lt;tag&gt;</div>", "a+=b;c-=d;e*=f;g/=h;i%=j;k<<=1;l>>=2;m&&n||!o", "\"\"\"docstring\"\"\"\n'''x'''",
];
const code = () => rep(() => pick(CODE), ri(1, 3)).replace(/ {4}/g, () => pick(["    ", "\t", "  ", "        "]));
const emoji = () => rep(() => { const r = rnd(); return r < 0.5 ? cp(...pick(EMOJI)) : r < 0.6 ? cp(...pick(EMOJI)) + cp(0x1F3FB, 0x1F3FF) : r < 0.7 ? "👨\u200D👩\u200D👧" : r < 0.78 ? cp(0x1F1E6, 0x1F1FF) + cp(0x1F1E6, 0x1F1FF) : r < 0.85 ? cp(...pick(EMOJI)) + "\uFE0F" : pick([" ", "!", "a", "中"]); }, ri(1, 20));
const scripts = () => rep(() => { const r = rnd(); return r < 0.7 ? cp(...pick(SCRIPTS)) : r < 0.85 ? cp(...pick(MARKS)) : pick(SPACES.slice(0, 4)); }, ri(1, 60));
const spaces = () => rep(() => rnd() < 0.7 ? pick(SPACES) : rnd() < 0.5 ? word() : pick(PUNCT), ri(1, 40));
const punct = () => rep(() => rnd() < 0.6 ? pick(PUNCT) : rnd() < 0.5 ? word() : pick(SPACES), ri(1, 40));
const special = () => rep(() => { const r = rnd(); return r < 0.4 ? pick(SPECIAL) : r < 0.7 ? word() : r < 0.85 ? pick(SPACES) : cps(chinese(), 5); }, ri(1, 12));
const longword = () => { const r = rnd(), n = ri(200, 6000); return r < 0.2 ? "a".repeat(n) : r < 0.4 ? rep(() => String.fromCharCode(ri(97, 122)), n) : r < 0.5 ? rep(() => cp(0x30, 0x39), n) : r < 0.6 ? rep(() => pick(ZH), n / 3) : r < 0.7 ? " ".repeat(n) : r < 0.8 ? rep(() => cp(...pick(EMOJI)), n / 10) : r < 0.9 ? rep(() => pick(PUNCT), n / 4) : "\n".repeat(n / 10) + "x" + "\t".repeat(n / 10); };
const ascii = () => rep(() => String.fromCharCode(rnd() < 0.1 ? ri(0, 31) : rnd() < 0.02 ? 127 : ri(32, 126)), ri(1, 80));
const latin1 = () => rep(() => { let c; do c = ri(0x80, 0xFF); while (c === 0x85); return String.fromCharCode(c); }, ri(1, 30));
const ACCENTED = [[0x00C0, 0x017F], [0x01CD, 0x01DC], [0x1E00, 0x1EF9], [0x1F00, 0x1FFC], [0x0386, 0x03CE], [0x0400, 0x045F]];
const decomposed = () => { for (;;) { const c = cp(...pick(ACCENTED)), d = c.normalize("NFD"); if (d !== c) return d; } };
const ORDER_MARKS = [0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0308, 0x030A, 0x030C, 0x0313, 0x0316, 0x0323, 0x0327, 0x0328,
  0x0331, 0x0334, 0x0338, 0x0345, 0x05B0, 0x05B4, 0x05BC, 0x05C1, 0x093C, 0x0E38, 0x0E48, 0x302A, 0x3099, 0x20D2];
const ODD = [0x0958, 0x0959, 0x095F, 0x09DC, 0x0A33, 0x0B5C, 0x0F43, 0xFB1D, 0xFB2A, 0xFB4E, 0x2ADC, 0x1D15E, 0x1D1BB, // exclusions
  0x212B, 0x2126, 0x212A, 0x0340, 0x0341, 0x0343, 0x0374, 0x037E, 0x0387, 0x1F71, 0x2000, 0x2001, 0xF900, 0xF9D0, 0xFA0D, 0x2F800, // singletons
  0x0344, 0x0F73, 0x0F75, 0x0F81]; // non-starter decompositions
const jamo = () => { const r = rnd(); return r < 0.45 ? cp(0x1100, 0x1112) + cp(0x1161, 0x1175) + (rnd() < 0.5 ? cp(0x11A8, 0x11C2) : "") : r < 0.65 ? cp(...HANGUL).normalize("NFD") : r < 0.8 ? cp(...HANGUL) + cp(0x11A8, 0x11C2) : cp(...pick([[0x1100, 0x1159], [0x1161, 0x11A2], [0x11A8, 0x11F9]])); };
const unordered = () => pick(["a", "e", "o", "u", "A", "n", "c", "s", "\u05E9", "\u0928", "\u03B1", "\u03C9", "\u0438", "\u304B"]) + rep(() => String.fromCodePoint(pick(ORDER_MARKS)), ri(1, 5));
const nonnfc = () => rep(() => { const r = rnd(); return r < 0.3 ? decomposed() + (rnd() < 0.5 ? word() : "") : r < 0.5 ? jamo() : r < 0.7 ? unordered() : r < 0.8 ? String.fromCodePoint(pick(ODD)) : r < 0.85 ? pick(["<", "=", ">"]) + "\u0338" : pick([" ", " ", "\n", ".", word(), cps(chinese(), 3)]); }, ri(1, 20));
const mixed = () => rep(() => cps(pick(GENS.slice(0, 10).concat([nonnfc]))(), ri(1, 30)), ri(2, 6));
const GENS = [english, chinese, japanese, korean, numbers, code, emoji, scripts, spaces, punct, special, longword, ascii, latin1, nonnfc];
const W = [20, 8, 7, 6, 9, 8, 6, 7, 7, 5, 8, 2, 4, 3, 8];
const total = W.reduce((a, b) => a + b, 0);

const out = [];
// fixed edge cases first
for (const s of ["", " ", "  ", "\n", "\r\n", "a", "1", "12", "123", "1234", "12345678901234567890", "'s", "I'M", "don't",
  " ' s", "\t\t", "x\r\ny", "。", "中文", "abc中文def", "👍", "👨‍👩‍👧‍👦", "é", "e\u0301", "<｜User｜>", "<｜User｜>x", " <｜User｜> ",
  "<｜begin▁of▁sentence｜><｜end▁of▁sentence｜>", "<think>\nok\n</think>\n\nanswer", "\u00A0", "\u3000x", "x\u2028y",
  "a\u0316\u0301", "a\u0301\u0316", "\u1100\u1161\u11A8", "\uAC00\u11A8", "\u212B", "\u0958", "\u0344", ">\u0338", "<|im_end|>\u0338"]) out.push(s);
while (out.length < N) {
  let r = rnd() * total, i = 0;
  while (r >= W[i]) r -= W[i++];
  out.push(rnd() < 0.1 ? mixed() : GENS[i]());
}
// "text" mode: the same strings as plain text (training data for tokenizer-train)
// "bench" mode: plain text without the very long words (typical text for speed runs)
if (process.argv[3] === "bench") process.stdout.write(out.filter((s) => s.length < 1000).join("\n") + "\n");
else if (process.argv[3] === "text") process.stdout.write(out.join("\n") + "\n");
else process.stdout.write(out.map((s) => JSON.stringify(s)).join("\n") + "\n");
