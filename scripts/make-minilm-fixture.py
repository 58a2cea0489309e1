#!/usr/bin/env python3
"""Writes Tests/VecDBTextTests/Resources/minilm-token-ids.json: reference WordPiece token ids.

Usage (normally through scripts/make-minilm-fixture.sh, which makes the virtualenv):
  make-minilm-fixture.py [--model DIR] [--items FILE] [--output FILE]

Tokenizes, with the Hugging Face `tokenizers` library and all-MiniLM-L6-v2's tokenizer.json
(truncation to 256 tokens including [CLS]/[SEP], as sentence-transformers' max_seq_length; no
padding; special tokens added), every MovieLens-100K title in file order (source "ml-100k"),
then a list of tricky strings (source "tricky"): accents, punctuation, numbers, emoji, CJK,
very long words, control and combining characters, case mappings, ligatures, full-width
forms, right-to-left scripts, text that must be truncated. VecDB's Swift tokenizer must give
the same ids for every case.

Output: one JSON object, UTF-8 (ensure_ascii=False), the header keys first and then one case
per line:
  {"generator": ..., "tokenizers_version": ..., "max_length": 256, "cases": [
  {"text": "...", "ids": [101, ..., 102], "source": "ml-100k"},
  ...
  ]}
Invisible and line-breaking characters (categories C* and Z* other than the space: NBSP,
U+2028, NEL, zero-width space, soft hyphen, BOM, ...) are written as \\u escapes, so that the
fixture can be reviewed and split into lines safely; they decode to the same strings.
The defaults read ${VECDB_DATA:-$HOME/.cache/vecdb}/minilm and .../ml-100k/ml-100k.item.
"""

import argparse
import json
import os
import sys
import unicodedata

import tokenizers

MAX_LENGTH = 256
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.environ.get("VECDB_DATA") or os.path.join(os.path.expanduser("~"), ".cache", "vecdb")

TRICKY = [
    # Accents (stripped: strip_accents follows lowercase) and case.
    "café", "naïve", "Ångström", "Über", "résumé", "façade", "Zoë", "HeLLo WoRLD",
    "A\u030angstrom",  # A + combining ring above, not precomposed
    # Punctuation runs and words with punctuation inside.
    "!!!???", "...", "a--b", "(hello)", "don't", "U.S.A.", "Hello,world!",
    # Numbers.
    "3.14159", "1,000,000", "2nd", "1990s", "\u00bc and x\u00b2",  # ¼, superscript two
    # Emoji: alone, with a variation selector, glued to words, flags and ZWJ sequences.
    "I \u2764\ufe0f NY", "hello\U0001F600world", "\U0001F44D", "\U0001F1FA\U0001F1F8",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467 family",
    # CJK ideographs (split one per character), kana and Hangul (not split), mixed with Latin.
    "日本語のテキスト", "北京欢迎你", "한국어 텍스트", "abc中文def",
    "データ",  # the dakuten of デ is a combining mark after NFD
    # Words over and at max_input_chars_per_word (100).
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "a" * 100, "a" * 101,
    # Empty and whitespace-only; tabs, newlines and other whitespace inside text.
    "", "   ", "a\tb\nc", "\r\nwindows\r\n", "a\u00a0b", "a\u3000b", "a\u2028b",
    # Control and format characters (removed by clean_text), a byte-order mark, NEL.
    "a\u0000b", "x\u200by", "soft\u00adhyphen", "\ufeffbom", "x\u0085y", "bell\u0007",
    # Combining characters alone after a letter.
    "e\u0301", "n\u0303",
    # Greek (final sigma), Cyrillic, Turkish dotted capital I, German sharp s.
    "ΣΊΣΥΦΟΣ", "Москва", "İstanbul", "Straße", "STRASSE",
    # Compatibility characters: ligatures, full-width forms, mathematical letters.
    "ﬁnance", "ＡＢＣ１２３", "\U0001D400\U0001D401", "\u2162 \u210c",
    # Symbols, currency, URLs and e-mail addresses.
    "x≤y+z", "$5 €10 £3", "https://example.com/a?b=c", "someone@example.org",
    # Scripts with combining marks inside words.
    "สวัสดี", "नमस्ते",
    # Right-to-left scripts.
    "שלום עולם", "مرحبا",
    # Special-token spellings inside the text, and a classic WordPiece example.
    "[CLS] hello [SEP]", "[cls] [MASK] [UNK]", "a[CLS]b", "unaffable",
    # Long enough to be truncated to 256 tokens.
    " ".join(["token"] * 400),
    "The weather is lovely today.",
]


def dumps_visible(obj):
    """json.dumps(ensure_ascii=False), with C*/Z* characters other than the space escaped."""
    out = []
    for c in json.dumps(obj, ensure_ascii=False):
        if c == " " or unicodedata.category(c)[0] not in "CZ":
            out.append(c)
        elif ord(c) > 0xFFFF:  # a UTF-16 surrogate pair, as JSON spells it
            v = ord(c) - 0x10000
            out.append(f"\\u{0xD800 + (v >> 10):04x}\\u{0xDC00 + (v & 0x3FF):04x}")
        else:
            out.append(f"\\u{ord(c):04x}")
    return "".join(out)


def read_titles(path):
    """MovieLens-100K item file: a header row, then item_id<TAB>movie_title<TAB>..."""
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8").split("\n")
    header = lines[0].split("\t")
    if len(header) < 2 or not header[1].startswith("movie_title"):
        sys.exit(f"{path}: expected movie_title as the second column, got {header}")
    return [line.split("\t")[1] for line in lines[1:] if line.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=os.path.join(DATA_DIR, "minilm"))
    p.add_argument("--items", default=os.path.join(DATA_DIR, "ml-100k", "ml-100k.item"))
    p.add_argument("--output", default=os.path.join(
        REPO_ROOT, "Tests", "VecDBTextTests", "Resources", "minilm-token-ids.json"))
    args = p.parse_args()

    tok = tokenizers.Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_LENGTH)  # tokenizer.json says 128, with padding
    tok.no_padding()

    titles = read_titles(args.items)
    if len(set(TRICKY)) != len(TRICKY):
        sys.exit("duplicate tricky strings")
    texts = [(t, "ml-100k") for t in titles] + [(t, "tricky") for t in TRICKY]
    encodings = tok.encode_batch([t for t, _ in texts], add_special_tokens=True)

    header = {"generator": "scripts/make-minilm-fixture.py",
              "tokenizers_version": tokenizers.__version__, "max_length": MAX_LENGTH}
    lines = [dumps_visible({"text": text, "ids": enc.ids, "source": source})
             for (text, source), enc in zip(texts, encodings)]
    head = json.dumps(header, ensure_ascii=False)[:-1]  # without the closing brace
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(head + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n")
    os.replace(tmp, args.output)

    with open(args.output, encoding="utf-8") as f:
        check = json.load(f)
    assert [c["text"] for c in check["cases"]] == [t for t, _ in texts]
    assert [c["ids"] for c in check["cases"]] == [e.ids for e in encodings]
    truncated = sum(len(e.ids) == MAX_LENGTH for e in encodings)
    unknown = sum(100 in e.ids for e in encodings)  # 100 = [UNK]
    print(f"[make-minilm-fixture] wrote {args.output}: {len(titles)} titles + {len(TRICKY)} tricky "
          f"strings (tokenizers {tokenizers.__version__}; {truncated} truncated to {MAX_LENGTH}, "
          f"{unknown} with [UNK])", file=sys.stderr)


if __name__ == "__main__":
    main()
