"""Quick date/time entry: what an operator types for "call back when" → an aware UTC datetime.

Pure: the clock and the zone are passed in. Russian and English, any case, ``ё`` = ``е``, extra
spaces ignored. The forms understood (``zone`` is the client's zone when it is known):

* offsets from now — ``+30m`` ``+30м`` ``+2h`` ``+2ч`` ``+1d`` ``+1д`` ``+1w`` ``+1h30m``,
  ``через 2 часа`` ``через 30 минут`` ``через час`` ``через полчаса`` ``in 2 hours``
  ``in 30 min`` ``in an hour``. Minutes and hours are absolute durations from the current
  minute; days and weeks keep the wall-clock time in ``zone`` (``+1d`` at 10:15 is 10:15 the
  next day, also across a DST switch);
* a day and a time, either way round — ``завтра 10:00`` ``завтра в 10`` ``послезавтра 9:30``
  ``сегодня 18:30`` ``tomorrow 10am`` ``tomorrow 3:30pm`` ``today 18:00`` ``пн 15``
  ``вт 10:30`` ``в пятницу 11`` ``mon 15`` ``friday 11am`` ``10 декабря 14:00``
  ``dec 10 2pm`` ``10.12 14:00`` ``10.12.2026 14:00`` ``10.12.26 14:00``
  ``2026-12-10 14:00``;
* a time alone — ``15:00`` ``15`` ``в 15`` ``3pm`` ``10 утра`` ``7 вечера`` ``полдень``;
* ISO 8601 with an offset — ``2026-12-10T14:00+03:00``, ``...Z``: that instant, the offset
  kept as written (not read in ``zone``); without an offset it is a local time in ``zone``.

Which day, when the text does not say it fully:

* a time alone is today if it is still ahead, else tomorrow;
* a weekday is the next such day: today only if the time is still ahead;
* a day and month without a year is this year if still ahead, else next year;
* ``сегодня``/``today``, a full date and ISO are taken as written, even when already past.

Local times that do not exist (the hour skipped when clocks go forward) move forward by the
gap (03:30 in a 03:00→04:00 gap is 04:30), as in the redial rules; local times that occur
twice (clocks go back) are the first of the two.

Anything unreadable raises a subclass of :class:`QuickTimeError` (a ``ValueError``) whose
``reason`` is a machine code; no other exception escapes for any text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

MAX_TEXT = 100
#: the farthest a quick entry may point, ahead or back
MAX_SPAN = timedelta(days=3660)


class QuickTimeError(ValueError):
    reason = "unreadable"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EmptyTime(QuickTimeError):
    reason = "empty"


class UnknownTimeFormat(QuickTimeError):
    reason = "unknown_format"


class MissingTime(QuickTimeError):
    """A day without the time of day (``завтра``, ``10.12``)."""
    reason = "missing_time"


class NoSuchDate(QuickTimeError):
    reason = "no_such_date"


class NoSuchClock(QuickTimeError):
    reason = "no_such_time"


class TimeOutOfRange(QuickTimeError):
    reason = "out_of_range"


# -- words ------------------------------------------------------------------------------------

_UNITS = {
    "minutes": ("m", "min", "mins", "minute", "minutes", "м", "мин", "минута", "минуту",
                "минуты", "минут"),
    "hours": ("h", "hr", "hrs", "hour", "hours", "ч", "час", "часа", "часов"),
    "days": ("d", "day", "days", "д", "дн", "день", "дня", "дней", "сутки", "суток"),
    "weeks": ("w", "wk", "wks", "week", "weeks", "н", "нед", "неделя", "неделю", "недели",
              "недель"),
}
UNIT_OF = {word: unit for unit, words in _UNITS.items() for word in words}

_WEEKDAYS = (
    ("пн", "пон", "понедельник", "mon", "monday"),
    ("вт", "вто", "вторник", "tue", "tues", "tuesday"),
    ("ср", "сре", "среда", "среду", "wed", "weds", "wednesday"),
    ("чт", "чет", "четверг", "thu", "thur", "thurs", "thursday"),
    ("пт", "пят", "пятница", "пятницу", "fri", "friday"),
    ("сб", "суб", "суббота", "субботу", "sat", "saturday"),
    ("вс", "вос", "воскресенье", "sun", "sunday"),
)
WEEKDAY_OF = {word: n for n, words in enumerate(_WEEKDAYS) for word in words}

RELATIVE_DAY = {"сегодня": 0, "today": 0, "завтра": 1, "tomorrow": 1, "послезавтра": 2}

_MONTHS = (
    ("января", "январь", "янв", "january", "jan"),
    ("февраля", "февраль", "фев", "february", "feb"),
    ("марта", "март", "мар", "march", "mar"),
    ("апреля", "апрель", "апр", "april", "apr"),
    ("мая", "май", "may"),
    ("июня", "июнь", "июн", "june", "jun"),
    ("июля", "июль", "июл", "july", "jul"),
    ("августа", "август", "авг", "august", "aug"),
    ("сентября", "сентябрь", "сен", "сент", "september", "sep", "sept"),
    ("октября", "октябрь", "окт", "october", "oct"),
    ("ноября", "ноябрь", "ноя", "нояб", "november", "nov"),
    ("декабря", "декабрь", "дек", "december", "dec"),
)
MONTH_OF = {word: n + 1 for n, words in enumerate(_MONTHS) for word in words}

# words that only join the parts: "в пятницу в 11", "on friday at 11am"
_FILLERS = {"в", "во", "at", "on", "г", "года"}
# "утра"/"ночи" read like am, "дня"/"вечера" like pm ("3 дня" = 15:00, "12 ночи" = 00:00)
_AM = {"am", "утра", "ночи"}
_PM = {"pm", "дня", "вечера"}
_NAMED_TIMES = {"полдень": time(12), "noon": time(12), "полночь": time(0), "midnight": time(0)}

_PHRASES = (
    (re.compile(r"\bday after tomorrow\b"), "послезавтра"),
    (re.compile(r"\bhalf an hour\b"), "30 min"),
    (re.compile(r"\b(?:a|an|one)\s+(hour|day|week|minute)\b"), r"1 \1"),
    (re.compile(r"\ba\.m\.?"), "am"),
    (re.compile(r"\bp\.m\.?"), "pm"),
)

_NUM = r"[0-9]+(?:[.,][0-9]+)?"
_RELATIVE = re.compile(r"(?:\+|через\s+|in\s+)(?P<body>.+)")
_RELATIVE_PART = re.compile(rf"\s*(?P<n>{_NUM})?\s*(?P<unit>[a-zа-я]+)")
_CLOCK = re.compile(
    r"(?P<h>[0-9]{1,2})(?::(?P<m>[0-9]{2}))?"
    r"(?:\s*(?P<half>am|pm|утра|ночи|дня|вечера)|\s*(?:ч|час|часа|часов|h))?")
_ISO = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})[t ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:\.[0-9]{1,6})?)?\s*(?P<off>z|[+-][0-9]{2}(?::?[0-9]{2})?)?")
_DOTTED = re.compile(r"(?P<d>[0-9]{1,2})[.](?P<mo>[0-9]{1,2})(?:[.](?P<y>[0-9]{2}|[0-9]{4}))?\.?")
_DASHED = re.compile(r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})")
_YEAR = re.compile(r"[0-9]{4}")
_COMMA = re.compile(r"(?<![0-9]),|,(?![0-9])")


def normalise(text: str) -> str:
    """Lower case, ``ё`` → ``е``, one space between words, no punctuation at the ends."""
    text = text.lower().replace("ё", "е")
    # a comma between digits is a decimal one ("через 1,5 часа"), any other separates words
    text = " ".join(_COMMA.sub(" ", text).split())
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    return text.strip(" .!;")


# -- days -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Day:
    """What the text says about the day: ``offset`` days from today, a ``weekday``, or a
    calendar date (``year`` None: the next such date)."""
    offset: int | None = None
    weekday: int | None = None
    month: int | None = None
    day: int | None = None
    year: int | None = None


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    return int(text) + 2000 if len(text) == 2 else int(text)


def _day_of(tokens: list[str]) -> _Day | None:
    """The day named by all of ``tokens``, or None when they do not name one."""
    if len(tokens) == 1:
        word = tokens[0]
        if word in RELATIVE_DAY:
            return _Day(offset=RELATIVE_DAY[word])
        if word.rstrip(".") in WEEKDAY_OF:
            return _Day(weekday=WEEKDAY_OF[word.rstrip(".")])
        for pattern in (_DOTTED, _DASHED):
            m = pattern.fullmatch(word)
            if m:
                return _Day(month=int(m["mo"]), day=int(m["d"]), year=_year(m["y"]))
        return None
    if len(tokens) in (2, 3):
        year = None
        if len(tokens) == 3:
            if not _YEAR.fullmatch(tokens[2]):
                return None
            year = int(tokens[2])
        first, second = tokens[0], tokens[1].rstrip(".")
        if first.isascii() and first.isdigit() and len(first) <= 2 and second in MONTH_OF:
            return _Day(month=MONTH_OF[second], day=int(first), year=year)
        first = first.rstrip(".")
        if first in MONTH_OF and second.isascii() and second.isdigit() and len(second) <= 2:
            return _Day(month=MONTH_OF[first], day=int(second), year=year)
    return None


def _clock_of(text: str) -> time | None:
    """The time of day written in ``text``, None when it is not a time; NoSuchClock for a
    time that cannot be (``25:00``, ``13pm``)."""
    if text in _NAMED_TIMES:
        return _NAMED_TIMES[text]
    m = _CLOCK.fullmatch(text)
    if m is None:
        return None
    hour, minute, half = int(m["h"]), int(m["m"] or 0), m["half"]
    if half in _AM or half in _PM:
        if not 1 <= hour <= 12:
            raise NoSuchClock(f"{text!r}: a time with {half} has an hour from 1 to 12")
        if half in _AM:
            hour = 0 if hour == 12 else hour
        elif half == "дня":  # "12 дня" is noon, "3 дня" 15:00
            hour = hour if hour == 12 else hour + 12
        else:
            hour = 12 if hour == 12 else hour + 12
    if hour > 23 or minute > 59:
        raise NoSuchClock(f"{text!r} is not a time of day")
    return time(hour, minute)


# -- local time → UTC -------------------------------------------------------------------------

def local_to_utc(naive: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in ``zone``, by the redial rules' convention
    (:func:`callcenter.domain.redial.local_to_utc`): a time inside a DST gap is read with the
    offset in force before the switch, so it moves forward by the gap (Vilnius 29.03.2026
    03:30 → 04:30 summer time); a time that occurs twice is the first occurrence."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)


def _on(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return local_to_utc(datetime.combine(day, clock), zone)


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise NoSuchDate(f"{day:02d}.{month:02d}.{year} is not a date") from None


def _resolve(day: _Day | None, clock: time, now: datetime, zone: ZoneInfo) -> datetime:
    today = now.astimezone(zone).date()
    if day is None:
        at = _on(today, clock, zone)
        return at if at > now else _on(today + timedelta(days=1), clock, zone)
    if day.offset is not None:
        return _on(today + timedelta(days=day.offset), clock, zone)
    if day.weekday is not None:
        ahead = (day.weekday - today.weekday()) % 7
        at = _on(today + timedelta(days=ahead), clock, zone)
        return at if at > now else _on(today + timedelta(days=ahead + 7), clock, zone)
    assert day.month is not None and day.day is not None
    if day.year is not None:
        return _on(_date(day.year, day.month, day.day), clock, zone)
    for year in (today.year, today.year + 1):
        try:
            at = _on(date(year, day.month, day.day), clock, zone)
        except ValueError:
            continue
        if at > now:
            return at
    # 29.02 in a year whose next 29.02 is more than a year away, or a date that is no date
    raise NoSuchDate(f"{day.day:02d}.{day.month:02d} is not a date in the coming year")


# -- the forms --------------------------------------------------------------------------------

def _relative(body: str, now: datetime, zone: ZoneInfo) -> datetime:
    if body in ("полчаса", "пол часа"):
        return now + timedelta(minutes=30)
    amounts = {"minutes": 0.0, "hours": 0.0, "days": 0, "weeks": 0}
    position = 0
    while position < len(body):
        m = _RELATIVE_PART.match(body, position)
        if m is None or m.end() == position:
            raise UnknownTimeFormat(f"{body!r}: expected an amount and a unit (+30m, +2ч)")
        position = m.end()
        if m["n"] is None and m["unit"] in ("и", "and"):
            continue
        unit = UNIT_OF.get(m["unit"])
        if unit is None:
            raise UnknownTimeFormat(f"{m['unit']!r} is not a unit of time")
        raw = (m["n"] or "1").replace(",", ".")
        if len(raw) > 7:
            raise TimeOutOfRange(f"{raw} is too far")
        if unit in ("days", "weeks"):
            if "." in raw:
                raise UnknownTimeFormat("days and weeks are whole numbers")
            amounts[unit] += int(raw)
        else:
            amounts[unit] += float(raw)
    if amounts["days"] * 86400 + amounts["weeks"] * 604800 + amounts["hours"] * 3600 \
            + amounts["minutes"] * 60 > MAX_SPAN.total_seconds():
        raise TimeOutOfRange(f"{body!r} is too far ahead")
    at = now
    days = amounts["days"] + 7 * amounts["weeks"]
    if days:
        # whole days keep the wall clock: "+1d" at 10:15 is 10:15 tomorrow, also across DST
        local = now.astimezone(zone).replace(tzinfo=None)
        at = local_to_utc(local + timedelta(days=days), zone)
    return at + timedelta(hours=amounts["hours"], minutes=amounts["minutes"])


def _iso(m: re.Match, zone: ZoneInfo) -> datetime:
    try:
        naive = datetime(int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"]),
                         int(m["s"] or 0))
    except ValueError:
        raise NoSuchDate(f"{m.group(0)!r} is not a date and time") from None
    off = m["off"]
    if off is None:
        return local_to_utc(naive, zone)
    if off == "z":
        return naive.replace(tzinfo=timezone.utc)
    digits = off[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 18 or minutes > 59:
        raise NoSuchClock(f"{off!r} is not a UTC offset")
    delta = timedelta(hours=hours, minutes=minutes)
    offset = timezone(delta if off[0] == "+" else -delta)
    return naive.replace(tzinfo=offset).astimezone(timezone.utc)


def _day_and_time(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    tokens = [t for t in re.split(r"[ ,]", text) if t and t not in _FILLERS]
    if not tokens:
        raise UnknownTimeFormat(f"{text!r} names no time")
    # the day first ("завтра 10:00"), then the day last ("10:00 завтра"), then no day
    for size in (3, 2, 1):
        for day_tokens, rest in ((tokens[:size], tokens[size:]), (tokens[-size:], tokens[:-size])):
            if len(day_tokens) < size:
                continue
            day = _day_of(day_tokens)
            if day is None:
                continue
            if not rest:
                raise MissingTime(f"{text!r}: add the time, e.g. {text} 10:00")
            clock = _clock_of(" ".join(rest))
            if clock is not None:
                return _resolve(day, clock, now, zone)
    clock = _clock_of(" ".join(tokens))
    if clock is None:
        raise UnknownTimeFormat(f"{text!r} is not a time this field understands")
    return _resolve(None, clock, now, zone)


def parse_quick_time(text: str, now_utc: datetime, zone: ZoneInfo) -> datetime:
    """The moment ``text`` names (an aware UTC datetime), read at ``now_utc`` in ``zone``; see
    the module's docstring for the forms. Raises a :class:`QuickTimeError` subclass."""
    if now_utc.tzinfo is None:
        raise TypeError("now_utc must be an aware datetime")
    if not isinstance(text, str) or not text.strip():
        raise EmptyTime("no time given")
    if len(text) > MAX_TEXT:
        raise UnknownTimeFormat(f"a time is at most {MAX_TEXT} characters")
    # offsets count from the current minute: "+30m" at 10:07:41 is 10:37
    now = now_utc.astimezone(timezone.utc).replace(second=0, microsecond=0)
    norm = normalise(text)
    if not norm:
        raise UnknownTimeFormat(f"{text!r} is not a time")
    try:
        iso = _ISO.fullmatch(norm)
        if iso:
            at = _iso(iso, zone)
        elif (rel := _RELATIVE.fullmatch(norm)) is not None:
            at = _relative(rel["body"].strip(), now, zone)
        else:
            at = _day_and_time(norm, now, zone)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, QuickTimeError):
            raise
        raise TimeOutOfRange(f"{text!r} is out of range") from None
    if abs(at - now) > MAX_SPAN:
        raise TimeOutOfRange(f"{text!r} is more than ten years away")
    return at.astimezone(timezone.utc)
