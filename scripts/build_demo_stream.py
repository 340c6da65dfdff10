#!/usr/bin/env python3
"""Build the bundled demo stream `brandpulse/demo_data/stream.csv`.

The demo is one week (2026-11-02 .. 2026-11-08 UTC) of mentions of one fictional brand
("Nimbus", a phone/mobile-network brand) and two fictional competitors ("Vireo", "Kestrel"),
in English, Russian and Ukrainian, with one negativity episode for Nimbus on 2026-11-06.

Every text comes from a data set whose license allows redistribution (see
brandpulse/demo_data/README.md): IBM Twitter customer care (Apache-2.0), BRIGHTER
(CC BY 4.0), CEDR (Apache-2.0), GoEmotions (Apache-2.0). Texts are unchanged except for
brand substitution (IBM: the original company names/handles are replaced by the fictional
brand's) or a brand insertion (a handle prefix/suffix, a hashtag or a "[Brand]" tag), so a
keyword query for the brand matches every row of that brand. Authors, times, platforms,
URLs, ids, followers and engagement are synthetic.

Only the standard library is used and all randomness comes from one seeded
`random.Random`, so the same inputs and seed give a byte-identical file.

    python scripts/build_demo_stream.py                       # data from ../shared/data
    python scripts/build_demo_stream.py --data /path/to/data --report
    python scripts/build_demo_stream.py --labels-out /tmp/demo_labels.csv   # provenance sidecar (not shipped)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import math
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "brandpulse" / "demo_data" / "stream.csv"
SEED = 20261106

COLUMNS = ["id", "created_at", "author", "text", "brand", "platform", "lang", "url",
           "followers", "likes", "reposts", "replies"]

START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
DAYS = 7
HOURS = DAYS * 24
# The negativity episode: 2026-11-06 (day 5) 13:00-17:59 UTC; extra volume = factor x the hour's normal rate.
EPISODE_DAY = 4  # 0-based
EPISODE_EXTRA = {13: 1.5, 14: 2.8, 15: 3.0, 16: 2.6, 17: 2.0}
EPISODE_HOURS = {EPISODE_DAY * 24 + h for h in EPISODE_EXTRA}
CAMPAIGN_COPIES = 14
MAX_REGULAR_POSTS = 5  # ordinary authors post at most this often, so advocates/detractors stand out
# The campaign text (a price complaint that suits a mobile brand); any other anger text if absent.
CAMPAIGN_SOURCE = ("goemotions/dev.csv", "edn2f47")


# ----------------------------------------------------------------------------------- brands
@dataclass(frozen=True)
class Brand:
    name: str
    main_handle: str
    support_handle: str
    per_day: float          # mean mentions per weekday (all languages)
    neg_share: float        # share of negative texts among labelled rows
    pos_share: float

    @property
    def keyword_re(self) -> re.Pattern[str]:
        return re.compile(rf"\b{self.name}\b|@{self.main_handle}\b|@{self.support_handle}\b", re.IGNORECASE)


BRANDS = [
    Brand("Nimbus", "NimbusMobile", "NimbusHelp", per_day=172, neg_share=0.12, pos_share=0.40),
    Brand("Vireo", "VireoMobile", "VireoCare", per_day=104, neg_share=0.16, pos_share=0.36),
    Brand("Kestrel", "KestrelTel", "KestrelHelp", per_day=72, neg_share=0.15, pos_share=0.37),
]
MAIN = BRANDS[0]

LANG_SHARE = {"en": 0.55, "ru": 0.25, "uk": 0.20}
# Share of English baseline rows that are IBM customer-care tweets (unlabelled: questions, mild complaints).
IBM_SHARE_EN = 0.12
PLATFORM_WEIGHTS = {
    "en": {"x": 0.36, "reddit": 0.22, "bluesky": 0.14, "mastodon": 0.12, "rss": 0.09, "hackernews": 0.07},
    "ru": {"x": 0.52, "rss": 0.20, "bluesky": 0.10, "mastodon": 0.09, "reddit": 0.09},
    "uk": {"x": 0.48, "rss": 0.15, "bluesky": 0.16, "mastodon": 0.11, "reddit": 0.10},
}
SOCIAL = ("x", "mastodon", "bluesky")
WEEKDAY_FACTOR = {0: 1.0, 1: 1.02, 2: 1.0, 3: 0.98, 4: 1.0, 5: 0.82, 6: 0.78}
PEAK_UTC = {"en": 18.0, "ru": 13.0, "uk": 13.0}  # en: US/UK audience; ru/uk: UTC+2/+3


def diurnal(lang: str, hour: int) -> float:
    """Relative activity of a language's audience in a UTC hour: low at night, high by day."""
    x = (1 + math.cos(2 * math.pi * (hour + 0.5 - PEAK_UTC[lang]) / 24)) / 2
    return 0.10 + 0.90 * x**1.6


# ------------------------------------------------------------------------------ text filters
RE_PII = re.compile(
    r"[\w.+-]+@[\w-]+\.[a-z]{2,}"            # e-mail
    r"|\+?\d[\d\s().-]{7,}\d"                # phone-like digit runs
    r"|\d{5,}"                               # order / account numbers
    r"|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b"     # dates (the stream is set in 2026)
    r"|https?://|www\.|##URL##|<username>|\[NAME\]|\[RELIGION\]|\"\"",     # links, masks, CSV debris
    re.IGNORECASE,
)
OTHER_BRANDS_LATIN = (
    r"apple|iphones?|ipads?|ipods?|macs?|macbooks?|imacs?|airpods?|itunes|icloud|ios|macos|watchos|siri|"
    r"google|gmail|youtube|yt|android|chrome|chromebooks?|pixel|nest|microsoft|windows|win\d+|xbox|outlook|"
    r"hotmail|skype|office|bing|hp|dropbox|spotify|yahoo|hulu|zoom|godaddy|wells\s?fargo|amazon|prime|kindle|"
    r"alexa|chase|t-?mobile|tmo|sprint|verizon|at&t|att|comcast|xfinity|spectrum|netflix|disney\+?|ebay|"
    r"paypal|venmo|playstation|psn|ps[345]|sony|nintendo|rockstar|gta|red\s+dead|rdr2?|minecraft|mojang|"
    r"fortnite|epic|adobe|photoshop|premiere|indesign|lightroom|acrobat|twitch|facebook|instagram|whatsapp|"
    r"telegram|tiktok|snapchat|uber|lyft|delta|southwest|samsung|galaxy|huawei|xiaomi|nokia|motorola|"
    r"oneplus|lenovo|dell|asus|acer|intel|nvidia|amd|steam|linux|ubuntu|firefox|safari|vodafone|kyivstar|"
    r"lifecell|mts|beeline|megafon|tele2|yandex|sber\w*|4pda|tesla|walmart|target|starbucks|mcdonald'?s|"
    r"nba|nfl|nhl|mlb|fifa|uefa|beats|nzxt|cisco|webex|teams|slack|discord|reddit|subreddit|roku|netflex|"
    r"palm|webos"
)
OTHER_BRANDS_CYR = (
    r"айфон\w*|эппл\w*|эпл\w*|епл\w*|гугл\w*|андроид\w*|самсунг\w*|сяоми|яндекс\w*|мтс|билайн\w*|мегафон\w*|"
    r"теле2|киевстар\w*|київстар\w*|лайфсел\w*|водафон\w*|сбер\w*|вконтакт\w*|вк|фейсбук\w*|инстаграм\w*|"
    r"телеграм\w*|ютуб\w*|нетфликс\w*|виндовс\w*|макдональдс\w*|айпад\w*|гугл"
)
SENSITIVE_EN = (
    r"die|died|dies|dying|dead|death|deaths|deceased|kill\w*|suicid\w*|murder\w*|funeral|cancer|tumou?r|"
    r"grave|rape\w*|abus\w*|guns?|shoot\w*|shot|war|wars|terror\w*|nazi\w*|hitler|trump\w*|biden|obama|"
    r"clinton|democrat\w*|republican\w*|liberals?|conservatives?|politic\w*|muslim\w*|islam\w*|jew\w*|"
    r"christian\w*|church\w*|god|jesus|christ|bible|religio\w*|racis\w*|sex\w*|porn\w*|dick\w*|cock\w*|"
    r"puss\w*|cunt\w*|fag\w*|nigg\w*|retard\w*|whores?|sluts?|bitch\w*|penis|vagina|boob\w*|tits|gay|"
    r"lesbian\w*|trans|covid\w*|corona\w*|virus|pandemic|quarantin\w*|lockdown|isolation|hospital\w*|"
    r"police|cops?|prison|jail|drugs?|cocaine|alcohol\w*|drunk|fuck\w*|motherfuck\w*|"
    r"toilet|lysol|costco|gouging|hoard\w*|panic|crisis|migrants?|refugees?|taliban|isis|hilton|ikea|russians?|"
    r"maga|spastic\w*|china|chinese|korean\w*|scotus|fcc|congress|senat\w*|president\w*|government|vot\w*|"
    r"elections?|crime\w*|demonic|sadis\w*|tortur\w*|blood\w*|bleed\w*|ass|asses|mothaf\w*|muthaf\w*|"
    r"condoms?|penetrat\w*|orgasm\w*|nude\w*|naked|horny|boner|white people|black people|feminis\w*|"
    r"appropriation|equality|racial|race|assault\w*|"
    r"\d{4}"
)
SENSITIVE_CYR = (
    r"войн\w*|війн\w*|воен\w*|військ\w*|ракет\w*|обстр\w*|окупант\w*|оккупант\w*|вторгн\w*|фронт\w*|зсу|всу|"
    r"солдат\w*|арми\w*|армі\w*|бомб\w*|вибух\w*|взрыв\w*|сирен\w*|убит\w*|убив\w*|убий\w*|вбив\w*|вбит\w*|"
    r"смерт\w*|помер\w*|умер\w*|загиб\w*|загин\w*|похорон\w*|могил\w*|рак|онкол\w*|самоуб\w*|суицид\w*|"
    r"путин\w*|путін\w*|зеленск\w*|зеленськ\w*|порошенк\w*|депутат\w*|политик\w*|політик\w*|полiтик\w*|"
    r"выбор\w*|вибор\w*|кремл\w*|росі\w*|росси\w*|русн\w*|рашист\w*|москал\w*|хохл\w*|укроп\w*|майдан\w*|"
    r"сук[аи]|секс\w*|порн\w*|жоп\w*|церк\w*|больниц\w*|лікарн\w*|полици\w*|поліці\w*|"
    r"наркот\w*|водк\w*|горілк\w*|алкогол\w*|пьян\w*|п'ян\w*|хер|русск\w*|президент\w*|калмык\w*|"
    r"аллилу\w*|икон\w*|владыч\w*|правительств\w*|уряд\w*|француз\w*|британ\w*|ирод\w*|революц\w*|"
    r"революці\w*|хвор\w*|болезн\w*|больн\w*|теракт\w*|террор\w*|терор\w*|бить|бьет|бьёт|бити|б'є|\d{4}"
)
RE_BLOCK_LATIN = re.compile(rf"(?<![\w@])(?:{OTHER_BRANDS_LATIN})(?![\w])", re.IGNORECASE)
RE_BLOCK_CYR = re.compile(rf"\b(?:{OTHER_BRANDS_CYR})\b", re.IGNORECASE)
RE_SENS_EN = re.compile(rf"\b(?:{SENSITIVE_EN})\b", re.IGNORECASE)
RE_SENS_CYR = re.compile(rf"\b(?:{SENSITIVE_CYR})\b", re.IGNORECASE)
# Russian/Ukrainian obscenities match anywhere inside a word (a few harmless words are dropped too).
RE_OBSCENE_CYR = re.compile(r"хуй|хуе|хуё|хуя|пизд|еба|ёба|ебу|ебл|ебн|еби|ёб|бля|мудак|пидор|пидар|гандон|шлюх|"
                            r"залуп|дроч", re.IGNORECASE)
RE_OUR_BRANDS = re.compile(r"nimbus|vireo|kestrel|нимбус|німбус|вирео|кестрел", re.IGNORECASE)

# Cue words: complaint-like negatives go to the episode first, praise-like positives to advocates.
RE_COMPLAINT = re.compile(
    r"\b(service|company|customer|support|phone|network|signal|internet|wi-?fi|bill\w*|charg\w*|refund\w*|"
    r"money|price\w*|pay\w*|app|update\w*|account\w*|cancel\w*|worst|terrible|awful|horrible|useless|"
    r"ridiculous|scam\w*|disappoint\w*|unacceptable|pathetic|waste\w*|broken|fix|"
    r"связ\w*|сет\w*|интернет\w*|телефон\w*|деньг\w*|сч[её]т\w*|сервис\w*|поддержк\w*|ужас\w*|отврат\w*|"
    r"бесит|достал\w*|кошмар\w*|позор\w*|зв'яз\w*|звʼяз\w*|мереж\w*|інтернет\w*|грош\w*|"
    r"сервіс\w*|підтримк\w*|жах\w*|бісить|ганьба|огид\w*)\b",
    re.IGNORECASE,
)
RE_PRAISE = re.compile(
    r"\b(love\w*|great|best|thanks?|thank you|awesome|amazing|recommend\w*|happy|excellent|fast|perfect|"
    r"glad|wonderful|fantastic|nice|cool|спасибо|люблю|отличн\w*|класс\w*|супер|рад|рада|круто|"
    r"прекрасн\w*|дякую|чудов\w*|клас\w*|радий|рада|найкращ\w*|прекрасн\w*|кайф\w*)\b",
    re.IGNORECASE,
)
# IBM: strong complaint cues (no labels in the source); such rows only appear in the episode.
RE_IBM_STRONG = re.compile(
    r"\b(worst|awful|terrible|horrible|ridiculous|unacceptable|useless|pathetic|frustrat\w*|hate|fraud\w*|"
    r"scam\w*|shit\w*|wtf|angry|annoy\w*|disappoint\w*|disgust\w*|furious|joke|sick of|fed up|so bad)\b",
    re.IGNORECASE,
)

NEG_EMOTIONS = {"anger", "disgust", "fear", "sadness"}
GOEMO_PLAIN_JOY = {"joy", "love", "gratitude", "admiration", "excitement", "amusement", "approval", "optimism"}
RE_NOT_PLAIN = re.compile(
    r"\b(not|no|never|but|wish|hate\w*|worst|bad|awful|sad|sorry|though|although|however|не|ни|нет|но|хоть|"
    r"жаль|ні|але|шкода|хоча)\b|n't\b", re.IGNORECASE)
EPISODE_EMOTIONS = {"anger", "disgust", "sadness"}
GOEMO_EPISODE_NATIVE = {"anger", "annoyance", "disgust", "disappointment", "sadness"}


def clean_ok(text: str, lang: str) -> bool:
    t = text.strip()
    if not (20 <= len(t) <= 250) or len(t.split()) < 4:
        return False
    if RE_PII.search(t) or RE_OUR_BRANDS.search(t):
        return False
    if RE_BLOCK_LATIN.search(t) or RE_BLOCK_CYR.search(t):
        return False
    return not (RE_SENS_EN.search(t) or RE_SENS_CYR.search(t) or RE_OBSCENE_CYR.search(t))


# --------------------------------------------------------------------------- source loading
@dataclass
class Text:
    source: str          # source file, relative to the data dir
    source_id: str       # id (or 1-based row number) in that file
    lang: str
    text: str
    emotions: str        # ';'-joined source labels, "neutral", or "" (IBM: unlabelled)
    sentiment: str       # negative / neutral / positive (from the emotion labels) or "unlabelled"
    episode_ok: bool = False
    cue: bool = False
    ibm_brand: str = ""  # IBM: the source company


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def sentiment_of(labels: set[str]) -> str | None:
    """Pure rows only: neutral, joy (optionally with surprise), or negative emotions only."""
    if labels == {"neutral"}:
        return "neutral"
    if labels and labels <= {"joy", "surprise"} and "joy" in labels:
        return "positive"
    if labels and labels <= NEG_EMOTIONS:
        return "negative"
    return None


def load_labelled(data: Path) -> list[Text]:
    out: list[Text] = []
    files = [
        ("goemotions/dev.csv", "en"), ("goemotions/train_sample10k.csv", "en"),
        ("brighter/train_en.csv", "en"), ("brighter/dev_en.csv", "en"),
        ("brighter/train_ru.csv", "ru"), ("brighter/dev_ru.csv", "ru"),
        ("brighter/train_uk.csv", "uk"), ("brighter/dev_uk.csv", "uk"),
        ("cedr/train.csv", "ru"),
    ]
    for rel, lang in files:
        for i, row in enumerate(read_csv(data / rel), start=1):
            if rel.startswith("cedr/") and row["source"] == "lenta":
                continue  # news sentences: not brand-mention-like
            labels = set(row["labels"].split(";"))
            sent = sentiment_of(labels)
            text = row["text"].strip()
            if sent is None or "@" in text or not clean_ok(text, lang):
                continue
            if rel.startswith("goemotions/"):
                native = set(row["native_labels"].split(";"))
                if sent == "neutral" and native != {"neutral"}:
                    continue
                episode_ok = sent == "negative" and bool(native & GOEMO_EPISODE_NATIVE) and native <= (
                    GOEMO_EPISODE_NATIVE | {"disapproval"})
            else:
                episode_ok = sent == "negative" and bool(labels & EPISODE_EMOTIONS)
            if sent == "negative":
                cue = bool(RE_COMPLAINT.search(text))
            else:  # advocates' texts: plain joy with a praise word and nothing that reads as negative
                cue = (labels == {"joy"} and bool(RE_PRAISE.search(text)) and not RE_NOT_PLAIN.search(text)
                       and (not rel.startswith("goemotions/") or set(row["native_labels"].split(";")) <= GOEMO_PLAIN_JOY))
            out.append(Text(rel, row.get("id") or str(i), lang, text, ";".join(sorted(labels)), sent,
                            episode_ok, cue))
    return out


# IBM source company -> (its handles, its names). Only companies whose customers write about things a
# phone / mobile-network brand also sells (phones, accounts, cloud storage, mail, music, video, calls,
# connectivity); banks, shops, printers, games and airlines are left out. Other companies' names make a
# row unusable.
IBM_COMPANIES: dict[str, tuple[list[str], list[str]]] = {
    "AppleSupport": (["AppleSupport", "Apple"], [r"Apple", r"iPhone"]),
    "Google": (["Google", "gmail", "GoogleIndia"], [r"Google", r"Gmail"]),
    "TMobileHelp": (["TMobileHelp", "TMobile"], [r"T-?Mobile"]),
    "Ask_Spectrum": (["Ask_Spectrum", "GetSpectrum"], [r"Spectrum"]),
    "DropboxSupport": (["DropboxSupport", "Dropbox"], [r"Dropbox"]),
    "SpotifyCares": (["SpotifyCares", "Spotify", "SpotifyUK"], [r"Spotify"]),
    "YahooCare": (["YahooCare", "Yahoo", "yahoomail"], [r"Yahoo"]),
    "hulu_support": (["hulu_support", "hulu"], [r"Hulu"]),
    "zoom_us": (["zoom_us"], [r"Zoom"]),
}
RE_HANDLE = re.compile(r"@\w+")
RE_ANY_IBM_NAME = re.compile("|".join(n for _, names in IBM_COMPANIES.values() for n in names), re.IGNORECASE)
RE_SIGNATURE = re.compile(r"\n\s*-?\s*[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}\s*$")
# A handle of another company (e.g. @verizon, @YouTubeTV, @beatsbydre): the row is dropped.
RE_BRANDISH_HANDLE = re.compile(rf"(?:{OTHER_BRANDS_LATIN})", re.IGNORECASE)
RE_SUPPORTY = re.compile(r"support|help|care|^ask", re.IGNORECASE)
# Placeholders used while the row is unassigned; filled with the target brand when a row is placed.
PH_MAIN, PH_SUPPORT, PH_NAME, PH_USER = "\x01MAIN\x01", "\x01SUPPORT\x01", "\x01NAME\x01", "\x01USER{}\x01"


def _sub_in_tag(names_re: re.Pattern[str], m: re.Match[str]) -> str:
    return names_re.sub(PH_NAME, m.group(0))  # "#tmobileoutage" -> "#<brand>outage"


def load_ibm(data: Path) -> list[Text]:
    rel = "streams/ibm_customer_care/stream.csv"
    out: list[Text] = []
    for row in read_csv(data / rel):
        company = row["brand"]
        if row["role"] != "customer" or company not in IBM_COMPANIES:
            continue
        handles, names = IBM_COMPANIES[company]
        handle_set = {h.lower() for h in handles}
        text = row["text"].strip().replace("\u2066", "").replace("\u2069", "")
        if RE_PII.search(text) or RE_OUR_BRANDS.search(text) or not (20 <= len(text) <= 250):
            continue
        if RE_SIGNATURE.search(text):  # a personal name signed under the tweet
            continue
        users: list[str] = []
        bad: list[str] = []

        def sub_handle(m: re.Match[str], handle_set: set[str] = handle_set, users: list[str] = users,
                       bad: list[str] = bad) -> str:
            h = m.group(0)[1:]
            if h.lower() not in handle_set and RE_BRANDISH_HANDLE.search(h):
                bad.append(h)
            if h.lower() in handle_set:
                return "@" + (PH_SUPPORT if RE_SUPPORTY.search(h) else PH_MAIN)
            if h not in users:
                users.append(h)
            return "@" + PH_USER.format(users.index(h))

        t = RE_HANDLE.sub(sub_handle, text)
        if bad:
            continue
        name_re = re.compile(r"(?<![\w\x01])(?:" + "|".join(names) + r")(?=s?\b|[-_'’]|$)", re.IGNORECASE)
        hashtag_re = re.compile(r"#\w+")
        in_tag_re = re.compile("|".join(names), re.IGNORECASE)
        t = hashtag_re.sub(partial(_sub_in_tag, in_tag_re), t)
        t = name_re.sub(PH_NAME, t)
        probe = t.replace(PH_MAIN, "").replace(PH_SUPPORT, "").replace(PH_NAME, "")
        probe = re.sub(r"\x01USER\d+\x01", "", probe)
        if RE_ANY_IBM_NAME.search(probe):  # e.g. "ApplePay": a company name glued to another word
            continue
        if RE_BLOCK_LATIN.search(probe) or RE_SENS_EN.search(probe) or len(probe.split()) < 4:
            continue
        strong = bool(RE_IBM_STRONG.search(probe))
        out.append(Text(rel, row["id"], "en", t, "", "unlabelled", episode_ok=strong, cue=strong,
                        ibm_brand=company))
    return out


def dedup(texts: list[Text]) -> list[Text]:
    seen: set[str] = set()
    out = []
    for t in texts:
        key = re.sub(r"\W+", " ", t.text.lower()).strip()
        if key in seen:
            continue
        seen.add(key)
        out.append(t)
    return out


# ----------------------------------------------------------------------------------- authors
def _words(s: str) -> list[str]:
    return s.split()


ADJ = _words("quiet bright lucky sunny misty rapid silver amber cosmic gentle brave clever urban velvet "
       "crimson lunar polar rustic solar wild tiny happy sleepy witty mellow nimble fuzzy cobalt "
       "golden hidden humble jolly lazy noble odd proud salty spicy stormy swift vivid")
NOUN = _words("otter falcon maple river pixel badger comet cactus harbor meadow lynx orca panda pepper "
        "raven sparrow tiger walrus willow yak koala lemur heron bison fox moth robin trout birch "
        "cedar pine fern quartz ember nova atlas echo delta tango")
RU_FIRST = _words("sasha masha dima katya olga ivan misha lena nastya sergey anya pavel yulia artem nikita "
            "vera igor oleg denis alina roman tanya kirill polina gleb zhenya vika lesha ksenia")
UK_FIRST = _words("oksana taras mykola olena andrii bohdan iryna yaryna dmytro ostap solomiia petro halyna "
            "vasyl natalka yurii marta roman sofiia maksym khrystyna nazar ulyana orest daryna")
SLAV_WORD = _words("moroz sokol koval bondar lis veter zorya kotik vishnya med yagoda svitlo ptashka grom "
             "les tuman sova zayats orlyk kalyna dub chaika")
MASTODON_INSTANCES = ("mastodon.social", "mas.to", "fosstodon.org", "mstdn.social", "techhub.social")
MASTODON_SOCIAL_RU_UK = ("mastodon.social", "mastodon.online", "mstdn.social")


@dataclass
class Author:
    handle: str
    lang: str
    platform: str
    followers: int | None
    kind: str = "regular"   # regular / advocate / detractor / campaign
    posts: int = 0


class AuthorFactory:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _base(self, lang: str) -> str:
        r = self.rng
        for _ in range(1000):
            if lang == "en":
                a, n = r.choice(ADJ), r.choice(NOUN)
                style = r.random()
                if style < 0.35:
                    h = f"{a}{n}{r.randint(1, 999)}"
                elif style < 0.6:
                    h = f"{a}_{n}"
                elif style < 0.8:
                    h = f"{a.capitalize()}{n.capitalize()}{r.randint(10, 99)}"
                else:
                    h = f"{n}_{a}{r.randint(1, 9)}"
            else:
                first = r.choice(RU_FIRST if lang == "ru" else UK_FIRST)
                w = r.choice(SLAV_WORD)
                style = r.random()
                if style < 0.4:
                    h = f"{first}_{w}"
                elif style < 0.7:
                    h = f"{first}{w}{r.randint(1, 99)}"
                else:
                    h = f"{w}_{first}{r.randint(70, 99)}"
            if h.lower() not in self.used:
                self.used.add(h.lower())
                return h
        raise RuntimeError("handle space exhausted")

    def new(self, lang: str, platform: str, kind: str = "regular", followers: int | None = None) -> Author:
        base = self._base(lang)
        if platform == "mastodon":
            inst = self.rng.choice(MASTODON_INSTANCES if lang == "en" else MASTODON_SOCIAL_RU_UK)
            handle = f"{base.lower()}@{inst}"
        elif platform == "bluesky":
            handle = f"{base.lower().replace('_', '-')}.bsky.social"
        else:
            handle = base
        if followers is None and platform in SOCIAL:
            mu, sigma = (11.0, 0.9) if self.rng.random() < 0.01 else (5.0, 1.55)  # 1% media/celebrity accounts
            followers = int(min(2_500_000, math.exp(self.rng.gauss(mu, sigma))))
        return Author(handle, lang, platform, followers, kind)


# ------------------------------------------------------------------------------- ids & urls
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
B32S = "234567abcdefghijklmnopqrstuvwxyz"


def b36(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n, 36)
        s = B36[r] + s
    return s or "0"


class IdMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self, platform: str, when: dt.datetime, author: Author, sub: str = "") -> tuple[str, str]:
        for _ in range(100):
            pid, url = self._make(platform, when, author, sub)
            if pid not in self.used:
                self.used.add(pid)
                return pid, url
        raise RuntimeError("id collision")

    def _make(self, platform: str, when: dt.datetime, author: Author, sub: str) -> tuple[str, str]:
        r = self.rng
        ms = int(when.timestamp() * 1000) + r.randint(0, 999)
        if platform == "x":
            pid = str(((ms - 1288834974657) << 22) | r.getrandbits(22))
            return pid, f"https://x.com/{author.handle}/status/{pid}"
        if platform == "mastodon":
            pid = str((ms << 16) | r.getrandbits(16))
            user, inst = author.handle.split("@")
            return pid, f"https://{inst}/@{user}/{pid}"
        if platform == "bluesky":
            n = ((ms * 1000 + r.randint(0, 999)) << 10) | r.getrandbits(10)
            tid = "".join(B32S[(n >> (5 * i)) & 31] for i in range(12, -1, -1))
            return tid, f"https://bsky.app/profile/{author.handle}/post/{tid}"
        if platform == "reddit":
            cid = b36(50_000_000_000 + int((when - START).total_seconds() * 60) + r.randint(0, 59))
            post = b36(r.randint(2_300_000_000, 2_400_000_000))
            return f"t1_{cid}", f"https://www.reddit.com/r/{sub}/comments/{post}/comment/{cid}/"
        if platform == "hackernews":
            # HN item ids grow by a few per second (~48.6M in Nov 2026 at the 2025 pace)
            pid = str(48_600_000 + int((when - START).total_seconds() * 4) + r.randint(0, 3))
            return pid, f"https://news.ycombinator.com/item?id={pid}"
        if platform == "rss":
            slug = f"{r.getrandbits(48):012x}"
            return f"rss-{slug}", f"https://blogs.example.org/{author.handle.lower()}/{when:%Y/%m}/{slug}"
        raise ValueError(platform)


# ------------------------------------------------------------------------------- generation
@dataclass
class Slot:
    brand: Brand
    hour: int                 # 0..HOURS-1
    lang: str
    category: str = ""        # negative / neutral / positive / ibm / ibm_strong
    episode: bool = False
    when: dt.datetime = START
    author: Author | None = None
    text: Text | None = None
    rendered: str = ""
    campaign: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def who(self) -> Author:
        assert self.author is not None
        return self.author

    @property
    def src(self) -> Text:
        assert self.text is not None
        return self.text


@dataclass
class BuildInfo:
    labelled_candidates: int
    ibm_candidates: int
    ibm_strong_candidates: int
    campaign_text: Text
    advocates: list[Author]
    detractors: list[Author]


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def hourly_rate(brand: Brand, lang: str, hour: int, day_noise: dict[int, float]) -> float:
    day, h = divmod(hour, 24)
    weekday = (START + dt.timedelta(days=day)).weekday()
    norm = sum(diurnal(lang, x) for x in range(24))
    return brand.per_day * LANG_SHARE[lang] * diurnal(lang, h) / norm * WEEKDAY_FACTOR[weekday] * day_noise[day]


def interleave(rng: random.Random, n: int, shares: dict[str, float]) -> list[str]:
    """Categories for n time-ordered slots, spread as evenly as possible (stride scheduling),
    then shuffled inside small windows so the pattern is not mechanical."""
    credit = dict.fromkeys(shares, 0.0)
    for c in credit:  # random phase so brands/languages do not line up
        credit[c] = rng.random() * shares[c]
    out = []
    for _ in range(n):
        for c in credit:
            credit[c] += shares[c]
        best = max(credit, key=lambda c: credit[c])
        credit[best] -= 1.0
        out.append(best)
    w = 6
    for i in range(0, n, w):
        chunk = out[i:i + w]
        rng.shuffle(chunk)
        out[i:i + w] = chunk
    return out


def render(slot: Slot, rng: random.Random, user_handles: list[str]) -> str:
    b, t, platform = slot.brand, slot.src, slot.who.platform
    if t.source.startswith("streams/"):
        s = t.text.replace(PH_MAIN, b.main_handle).replace(PH_SUPPORT, b.support_handle).replace(PH_NAME, b.name)
        s = re.sub(r"\x01USER(\d+)\x01", lambda m: user_handles[int(m.group(1)) % len(user_handles)], s)
        s = re.sub(r"(@\w+)(?:\s+\1\b)+", r"\1", s)  # "@Google @gmail" became "@NimbusMobile @NimbusMobile"
        if not b.keyword_re.search(s):
            s = f"@{b.main_handle} {s}"
        return s
    s = t.text
    if platform in SOCIAL:
        r = rng.random()
        if r < 0.40:
            return f"@{b.main_handle} {s}"
        if r < 0.52:
            return f"@{b.support_handle} {s}"
        if r < 0.64:
            return f"{s} @{b.main_handle}"
        return f"{s} #{b.name}"
    return f"[{b.name}] {s}"


def build(data: Path, seed: int = SEED) -> tuple[list[Slot], BuildInfo]:
    rng = random.Random(seed)
    labelled = dedup(load_labelled(data))
    ibm = dedup(load_ibm(data))

    # --- pools, each shuffled once; cue texts first where it matters
    pools: dict[tuple[str, str], list[Text]] = defaultdict(list)
    for t in labelled:
        pools[(t.lang, t.sentiment)].append(t)
    for key in sorted(pools):
        rng.shuffle(pools[key])
    ibm_mild = [t for t in ibm if not t.episode_ok]
    ibm_strong = [t for t in ibm if t.episode_ok]
    rng.shuffle(ibm_mild)
    rng.shuffle(ibm_strong)
    used: set[int] = set()

    def take(lang: str, sentiment: str, *, episode: bool = False, cue_first: bool = False) -> Text:
        pool = pools[(lang, sentiment)]
        order = pool
        if episode:  # complaint-like first; in English, Reddit comments (GoEmotions) before BRIGHTER's prose
            order = sorted((t for t in pool if t.episode_ok),
                           key=lambda t: (not t.cue, t.source.startswith("brighter/") and t.lang == "en"))
        elif cue_first:
            order = [t for t in pool if t.cue] + [t for t in pool if not t.cue]
        elif sentiment == "negative":  # keep the complaint-like episode texts for the episode
            order = [t for t in pool if not (t.episode_ok and t.cue)] + [t for t in pool if t.episode_ok and t.cue]
        for t in order:
            if id(t) not in used:
                used.add(id(t))
                return t
        raise RuntimeError(f"pool exhausted: {lang}/{sentiment}")

    def take_ibm(strong: bool) -> Text:
        for t in ibm_strong if strong else ibm_mild:
            if id(t) not in used:
                used.add(id(t))
                return t
        raise RuntimeError("IBM pool exhausted")

    # --- slots: baseline volume per brand x language x hour
    day_noise = {d: rng.uniform(0.93, 1.07) for d in range(DAYS)}
    # Counts are the expected rate with mild noise (not Poisson) so that no ordinary hour looks like a spike.
    slots: list[Slot] = []
    for b in BRANDS:
        brand_slots = []
        for hour in range(HOURS):
            for lang in LANG_SHARE:
                rate = hourly_rate(b, lang, hour, day_noise) * math.exp(rng.gauss(0, 0.15))
                brand_slots += [Slot(b, hour, lang) for _ in range(int(rate + rng.random()))]
        # negatives are spread evenly over the brand's whole (time-ordered) stream, whatever the language ...
        neg_flags = interleave(rng, len(brand_slots), {"negative": b.neg_share, "other": 1 - b.neg_share})
        for s, c in zip(brand_slots, neg_flags, strict=True):
            s.category = c
        # ... and the rest of each language's rows are split evenly into positive / neutral (/ IBM for English)
        for lang in LANG_SHARE:
            rest = [s for s in brand_slots if s.lang == lang and s.category == "other"]
            pos = b.pos_share / (1 - b.neg_share)
            shares = {"positive": pos, "neutral": 1 - pos}
            if lang == "en":
                ibm_share = IBM_SHARE_EN / (1 - b.neg_share)
                shares = {k: v * (1 - ibm_share) for k, v in shares.items()} | {"ibm": ibm_share}
            for s, c in zip(rest, interleave(rng, len(rest), shares), strict=True):
                s.category = c
        slots.extend(brand_slots)
    # --- the episode: extra, mostly negative mentions of the main brand
    episode_mix = {"en": (0.62, {"negative": 0.89, "ibm_strong": 0.09, "neutral": 0.02}),
                   "ru": (0.23, {"negative": 0.97, "neutral": 0.03}),
                   "uk": (0.15, {"negative": 0.97, "neutral": 0.03})}
    for lang, (lang_share, mix) in episode_mix.items():
        extra = []
        for h, factor in EPISODE_EXTRA.items():
            hour = EPISODE_DAY * 24 + h
            base = sum(hourly_rate(MAIN, lg, hour, day_noise) for lg in LANG_SHARE)
            extra += [Slot(MAIN, hour, lang, episode=True) for _ in range(round(base * factor * lang_share))]
        for s, c in zip(extra, interleave(rng, len(extra), mix), strict=True):
            s.category = c
        slots.extend(extra)

    # --- times: uniform inside the hour (the first episode hour ramps up towards its end)
    for s in slots:
        sec = rng.randrange(3600)
        if s.episode and s.hour == EPISODE_DAY * 24 + min(EPISODE_EXTRA):
            sec = int(3600 * math.sqrt(rng.random()))
        s.when = START + dt.timedelta(hours=s.hour, seconds=min(sec, 3599))
    slots.sort(key=lambda s: (s.when, s.brand.name, s.lang))

    # --- authors
    af = AuthorFactory(rng)
    authors_by_lang: dict[str, list[Author]] = defaultdict(list)

    def platform_for(lang: str, social_only: bool = False) -> str:
        w = PLATFORM_WEIGHTS[lang]
        names = [p for p in w if not social_only or p in SOCIAL]
        return rng.choices(names, weights=[w[p] for p in names])[0]

    # the campaign text is reserved first (see below)
    camp_cands = [t for t in pools[("en", "negative")]
                  if t.episode_ok and t.cue and len(t.text) <= 140 and "anger" in t.emotions]
    camp_text = next((t for t in camp_cands if (t.source, t.source_id) == CAMPAIGN_SOURCE), camp_cands[0])
    used.add(id(camp_text))
    advocates = [  # (lang, platform, followers, posts)
        ("en", "x", 48_200, 18), ("en", "bluesky", 12_900, 15), ("en", "mastodon", 6_350, 13),
        ("ru", "x", 21_400, 12), ("uk", "x", 9_800, 11),
    ]
    detractors = [("en", "x", 31_700, 11, 4), ("ru", "x", 2_150, 9, 2)]  # (.., baseline posts, episode posts)
    adv_authors = [af.new(lang, p, "advocate", f) for lang, p, f, _ in advocates]
    det_authors = [af.new(lang, p, "detractor", f) for lang, p, f, _, _ in detractors]

    # advocates take positive baseline slots of the main brand (daytime, spread over the week)
    for a, (_, _, _, k) in zip(adv_authors, advocates, strict=True):
        utc_offset = -5 if a.lang == "en" else 2  # the advocate's local time: US East / Kyiv, Moscow-ish
        cands = [s for s in slots if s.brand is MAIN and s.lang == a.lang and s.category == "positive"
                 and not s.episode and s.author is None and 8 <= (s.hour + utc_offset) % 24 <= 22]
        for s in rng.sample(cands, k):
            s.author = a
            s.text = take(a.lang, "positive", cue_first=True)
    # detractors: negative baseline slots of the main brand + a few in the episode
    for a, (_, _, _, k_base, k_ep) in zip(det_authors, detractors, strict=True):
        cands = [s for s in slots if s.brand is MAIN and s.lang == a.lang and s.category == "negative"
                 and not s.episode and s.author is None]
        ep = [s for s in slots if s.episode and s.lang == a.lang and s.category == "negative" and s.author is None]
        for s in rng.sample(cands, k_base):
            s.author = a
            s.text = take(a.lang, "negative", episode=True)  # clearly angry, complaint-like texts
        for s in rng.sample(ep, k_ep):
            s.author = a
            s.text = take(a.lang, "negative", episode=True)

    # the copy-paste campaign: one complaint text posted by different new accounts at the episode peak
    peak = [s for s in slots if s.episode and s.lang == "en" and s.category == "negative" and s.author is None
            and s.hour in (EPISODE_DAY * 24 + 14, EPISODE_DAY * 24 + 15)]
    for s in rng.sample(peak, CAMPAIGN_COPIES):
        s.author = af.new("en", rng.choice(["x", "x", "x", "bluesky", "mastodon"]), "campaign",
                          followers=int(math.exp(rng.gauss(3.2, 0.9))))
        s.text = camp_text
        s.campaign = True

    # everyone else: a new author, or (preferential attachment) a returning one of the same language
    for s in slots:
        if s.author is None:
            need_social = s.category in ("ibm", "ibm_strong")
            pool = [a for a in authors_by_lang[s.lang]
                    if a.posts < MAX_REGULAR_POSTS and (not need_social or a.platform in SOCIAL)]
            if pool and rng.random() < 0.22:
                a = rng.choices(pool, weights=[a.posts**0.8 for a in pool])[0]
            else:
                a = af.new(s.lang, platform_for(s.lang, need_social))
                authors_by_lang[s.lang].append(a)
            s.author = a
        s.author.posts += 1
        if s.text is None:
            if s.category == "ibm":
                s.text = take_ibm(False)
            elif s.category == "ibm_strong":
                s.text = take_ibm(True)
            else:
                s.text = take(s.lang, s.category, episode=s.episode and s.category == "negative")

    # --- render texts, engagement, ids
    ids = IdMaker(rng)
    en_users = [a.handle for a in authors_by_lang["en"] if a.platform == "x"]
    subs = {"Nimbus": "NimbusMobile", "Vireo": "VireoMobile", "Kestrel": "KestrelTel"}
    for s in slots:
        a = s.who
        if s.campaign:
            forms = [f"@{s.brand.main_handle} {{}}", f"{{}} @{s.brand.main_handle}", f"{{}} #{s.brand.name}",
                     f"@{s.brand.support_handle} {{}}"]
            s.rendered = rng.choice(forms).format(s.src.text)
        else:
            s.rendered = render(s, rng, [rng.choice(en_users) for _ in range(4)])
        sub = rng.choice([subs[s.brand.name], subs[s.brand.name], "phones", "smartphones", "telecom"]) \
            if a.platform == "reddit" else ""
        pid, url = ids.make(a.platform, s.when, a, sub)
        s.extra = {"id": pid, "url": url, **engagement(rng, s)}
    info = BuildInfo(len(labelled), len(ibm), len(ibm_strong), camp_text, adv_authors, det_authors)
    return slots, info


def engagement(rng: random.Random, s: Slot) -> dict[str, str]:
    a = s.who
    boost = 1.0
    if a.kind == "advocate":
        boost = 3.0
    elif s.episode and s.category != "neutral":
        boost = 2.5
    if s.category in ("negative", "ibm_strong"):
        boost *= 1.3
    noise = math.exp(rng.gauss(0, 0.8))
    if a.platform in SOCIAL:
        mean_likes = (0.3 + 0.035 * (a.followers or 0) ** 0.82) * boost * noise
        likes = poisson(rng, min(mean_likes, 5000))
        reposts = poisson(rng, likes * (0.18 if s.category != "neutral" else 0.08))
        replies = poisson(rng, 0.2 + likes * (0.12 if s.category in ("negative", "ibm_strong") else 0.06))
        return {"followers": str(a.followers), "likes": str(likes), "reposts": str(reposts),
                "replies": str(replies)}
    if a.platform in ("reddit", "hackernews"):
        score = max(0, int(math.exp(rng.gauss(1.3, 1.1)) * boost) - (1 if rng.random() < 0.15 else 0))
        return {"followers": "", "likes": str(score), "reposts": "",
                "replies": str(poisson(rng, 0.3 + score * 0.15))}
    return {"followers": "", "likes": "", "reposts": "", "replies": ""}  # rss: no counts


def write(slots: list[Slot], out: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for s in slots:
        a = s.who
        w.writerow([s.extra["id"], s.when.strftime("%Y-%m-%dT%H:%M:%SZ"), a.handle, s.rendered, s.brand.name,
                    a.platform, s.lang, s.extra["url"], s.extra["followers"], s.extra["likes"],
                    s.extra["reposts"], s.extra["replies"]])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.getvalue().encode("utf-8"))


def write_labels(slots: list[Slot], out: Path) -> None:
    """Provenance sidecar (not shipped): source file/row, source labels and derived sentiment per row."""
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "brand", "source", "source_id", "emotions", "sentiment", "category", "episode",
                     "campaign", "author_kind"])
        for s in slots:
            t, a = s.src, s.who
            sent = t.sentiment if t.sentiment != "unlabelled" else (
                "unlabelled_strong_complaint" if t.episode_ok else "unlabelled")
            w.writerow([s.extra["id"], s.brand.name, t.source, t.source_id, t.emotions, sent, s.category,
                        int(s.episode), int(s.campaign), a.kind])


def report(slots: list[Slot], info: BuildInfo) -> str:
    """Counts for the README (and a check that only the episode stands out)."""
    lines: list[str] = []
    p = lines.append

    def counts(title: str, key: Callable[[Slot], object]) -> None:
        c = Counter(key(s) for s in slots)
        p(f"{title}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))))

    p(f"rows: {len(slots)}; candidate texts after filtering: labelled {info.labelled_candidates}, "
      f"IBM {info.ibm_candidates} (strong complaints {info.ibm_strong_candidates})")
    counts("brand", lambda s: s.brand.name)
    counts("lang", lambda s: s.lang)
    counts("platform", lambda s: s.who.platform)
    counts("brand x lang", lambda s: f"{s.brand.name}/{s.lang}")
    counts("brand x platform", lambda s: f"{s.brand.name}/{s.who.platform}")
    counts("source file", lambda s: s.src.source)
    counts("source file x sentiment", lambda s: f"{s.src.source}/{s.src.sentiment}")
    counts("lang x sentiment", lambda s: f"{s.lang}/{s.src.sentiment}")
    counts("brand x day", lambda s: f"{s.brand.name}/{s.when:%m-%d}")
    p(f"distinct authors: {len({(s.who.platform, s.who.handle) for s in slots})}")
    for a in info.advocates + info.detractors:
        p(f"{a.kind}: {a.platform}:{a.handle} lang={a.lang} followers={a.followers} posts={a.posts}")
    t = info.campaign_text
    p(f"campaign text ({CAMPAIGN_COPIES} copies): {t.source} {t.source_id} [{t.emotions}]: {t.text!r}")
    # per-hour negatives (source labels; IBM strong complaints counted as negative)
    per_hour: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    for s in slots:
        c = per_hour[(s.brand.name, s.hour)]
        c["n"] += 1
        c["neg_label"] += s.src.sentiment == "negative"
        c["neg_ibm"] += s.category == "ibm_strong"
        c["pos"] += s.src.sentiment == "positive"
    p("Nimbus by hour around the episode (UTC): rows, negative by emotion label, IBM strong complaints, "
      "negative share, positive")
    for hour in range(EPISODE_DAY * 24 + 9, EPISODE_DAY * 24 + 21):
        c = per_hour[("Nimbus", hour)]
        neg = c["neg_label"] + c["neg_ibm"]
        p(f"  {START + dt.timedelta(hours=hour):%Y-%m-%d %H}:00 {c['n']:3d} {c['neg_label']:3d} {c['neg_ibm']:2d} "
          f"{neg / max(c['n'], 1):.2f} {c['pos']:3d}")
    for b in BRANDS:
        others = [per_hour[(b.name, h)] for h in range(HOURS) if not (b is MAIN and h in EPISODE_HOURS)]
        n = sum(c["n"] for c in others)
        neg = sum(c["neg_label"] + c["neg_ibm"] for c in others)
        p(f"{b.name}: outside the episode {n} rows, negative share {neg / n:.3f}, max negatives in one hour "
          f"{max(c['neg_label'] + c['neg_ibm'] for c in others)}, max rows in one hour {max(c['n'] for c in others)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"shared data dir (default {DEFAULT_DATA})")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output CSV (default {DEFAULT_OUT})")
    ap.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    ap.add_argument("--labels-out", type=Path, help="also write a provenance/label sidecar CSV here (not shipped)")
    ap.add_argument("--report", action="store_true", help="print counts")
    args = ap.parse_args(argv)
    if not (args.data / "brighter").is_dir():
        ap.error(f"{args.data} does not look like the shared data folder (no brighter/); pass --data")
    slots, info = build(args.data, args.seed)
    write(slots, args.out)
    if args.labels_out:
        write_labels(slots, args.labels_out)
    print(f"wrote {len(slots)} rows to {args.out}", file=sys.stderr)
    if args.report:
        print(report(slots, info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
