"""Names compared across scripts: Cyrillic (Russian, Ukrainian) transliterated to Latin, then spelling variants folded.

"Олександр Ковальчук", "Oleksandr Kovalchuk" and "Aleksandr Kowalczuk" all end up close: the table is a plain
romanisation, and `fold` merges the usual variant spellings (kh/h, ya/ia/ja, y/i/j, w/v, ts/tz/c, doubled letters).
"""

from __future__ import annotations

import re
import unicodedata

_CYR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "ye", "ж": "zh", "з": "z",
    "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "",
    "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}

_FOLDS = [
    ("shch", "sch"), ("sch", "sh"), ("kh", "h"), ("tch", "ch"), ("tz", "c"), ("ts", "c"), ("cz", "ch"),
    ("sz", "sh"), ("w", "v"), ("ya", "ia"), ("ja", "ia"), ("yu", "iu"), ("ju", "iu"), ("ye", "e"), ("ie", "e"),
    ("yi", "i"), ("x", "ks"), ("ph", "f"), ("y", "i"), ("j", "i"), ("g", "h"), ("q", "k"),
]


def to_latin(text: str) -> str:
    """Cyrillic letters romanised, accents dropped, lower case."""
    out = []
    for ch in text.lower():
        out.append(_CYR.get(ch, ch))
    s = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in s if not unicodedata.combining(c))


def fold(text: str) -> str:
    """A spelling-insensitive key of a name: romanised, variant spellings merged, punctuation dropped."""
    s = re.sub(r"[^a-z ]+", " ", to_latin(text))
    for a, b in _FOLDS:
        s = s.replace(a, b)
    s = re.sub(r"(.)\1+", r"\1", s)
    return " ".join(s.split())
