#!/usr/bin/python3
"""Write tests/tok/nfc_golden.txt: NFC expectations from Python's unicodedata (Unicode 14.0.0,
the version of src/tok/nfc_tables.c) for tests/test_nfc.c. Run from the repo root:

    /usr/bin/python3 tests/reference/make_nfc_golden.py

Deterministic (fixed seed). Lines are UTF-8, "KIND<TAB>input<TAB>NFC(input)":
  c   a single code point that NFC changes (all of them; test_nfc.c checks every other code
      point maps to itself, so the single-character case is exhaustive)
  d   the canonical decomposition of every decomposable code point (every composition)
  h   Hangul: decomposed syllables, conjoining jamo runs (L V, L V T, LV T, stray V/T, old jamo)
  o   a base letter and combining marks in random order (canonical reordering, blocking)
  x   composition exclusions, singletons, non-starter decompositions in context
  r   random mixes of all of the above with ASCII, CJK and precomposed letters
  l   long runs of marks (over the 32 that the insertion sort handles)
No input holds a tab or a newline.
"""
import random
import sys
import unicodedata as ud

OUT = "tests/tok/nfc_golden.txt"
if ud.unidata_version != "14.0.0":
    sys.exit(f"unicodedata is Unicode {ud.unidata_version}; expectations must be 14.0.0")
nfc = lambda s: ud.normalize("NFC", s)  # noqa: E731
nfd = lambda s: ud.normalize("NFD", s)  # noqa: E731
rng = random.Random(20240614)
cases = []


def add(kind, s):
    assert "\t" not in s and "\n" not in s
    cases.append(f"{kind}\t{s}\t{nfc(s)}")


every = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
for c in every:
    if nfc(chr(c)) != chr(c):
        add("c", chr(c))

decomposable = [c for c in every if nfd(chr(c)) != chr(c) and not 0xAC00 <= c <= 0xD7A3]
for c in decomposable:
    add("d", nfd(chr(c)))

marks = [c for c in every if ud.combining(chr(c)) and ud.category(chr(c)).startswith("M")
         and c < 0x20000 and ud.name(chr(c), "")]
common_marks = [c for c in marks if c < 0x0370] + [0x05B0, 0x05B4, 0x05BC, 0x05C1, 0x05C2, 0x093C,
                                                   0x0E38, 0x0E48, 0x1DCE, 0x20D2, 0x302A, 0x3099]
bases = [ord(x) for x in "aeiouAEIOUnNcCsSzZyYgGkKwWxq"] + [0x0391, 0x03B1, 0x03C9, 0x0415, 0x0438,
                                                            0x05E9, 0x0928, 0x0B47, 0x1100, 0x304B]

for s in range(0, 11172, 37):
    add("h", nfd(chr(0xAC00 + s)))
L = list(range(0x1100, 0x1113)) + [0x1113, 0x115F]
V = list(range(0x1161, 0x1176)) + [0x1176, 0x1160]
T = list(range(0x11A8, 0x11C3)) + [0x11A7, 0x11C3]
for _ in range(400):
    parts = []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.45:
            parts += [rng.choice(L), rng.choice(V)] + ([rng.choice(T)] if rng.random() < 0.5 else [])
        elif r < 0.6:
            parts += [ord(nfc(chr(0xAC00 + rng.randrange(11172))[0])), rng.choice(T)]
        elif r < 0.75:
            parts.append(rng.choice(L + V + T))
        elif r < 0.85:
            parts.append(rng.choice([0x0301, 0x0300, 0x302E, 0x3099, 0x20]))
        else:
            parts.append(0xAC00 + rng.randrange(11172))
    add("h", "".join(map(chr, parts)))

for _ in range(900):
    s = chr(rng.choice(bases))
    ms = [rng.choice(common_marks if rng.random() < 0.7 else marks) for _ in range(rng.randint(1, 6))]
    rng.shuffle(ms)
    s += "".join(map(chr, ms))
    if rng.random() < 0.3:
        s = nfc(chr(rng.choice(bases))) + s
    add("o", s)

excluded = [c for c in every if nfc(chr(c)) != chr(c)]
singles = [c for c in excluded if len(ud.decomposition(chr(c)).split()) == 1]
nonstarter = [c for c in excluded if ud.combining(nfd(chr(c))[0])]
for _ in range(500):
    pool = rng.choice([excluded, singles, nonstarter])
    s = chr(rng.choice(bases)) + chr(rng.choice(pool))
    if rng.random() < 0.5:
        s += chr(rng.choice(common_marks))
    if rng.random() < 0.3:
        s = chr(rng.choice(common_marks)) + s
    add("x", s)

precomposed = [c for c in decomposable if c < 0x3000]
for _ in range(1000):
    out = []
    for _ in range(rng.randint(1, 16)):
        r = rng.random()
        if r < 0.2:
            out.append(chr(rng.randint(0x20, 0x7E)))
        elif r < 0.35:
            out.append(chr(rng.choice(precomposed)))
        elif r < 0.5:
            out.append(nfd(chr(rng.choice(precomposed))))
        elif r < 0.7:
            out.append(chr(rng.choice(common_marks)))
        elif r < 0.8:
            out.append(chr(rng.choice(excluded)))
        elif r < 0.9:
            out.append(chr(rng.choice(L + V + T)))
        else:
            out.append(chr(rng.choice([0x4E2D, 0x6587, 0xAC00, 0xD7A3, 0x1F600, 0x00A0, 0x3000])))
    add("r", "".join(out))

for n in (33, 40, 100, 300):
    ms = [rng.choice(common_marks) for _ in range(n)]
    add("l", "a" + "".join(map(chr, ms)))
    add("l", "".join(map(chr, ms)) + "e" + "".join(map(chr, reversed(ms))))

with open(OUT, "w", encoding="utf-8", newline="\n") as f:
    f.write("# NFC expectations (Unicode 14.0.0): written by tests/reference/make_nfc_golden.py\n")
    f.write("\n".join(cases) + "\n")
kinds = {}
for line in cases:
    kinds[line[0]] = kinds.get(line[0], 0) + 1
print(OUT, len(cases), "cases", kinds)
