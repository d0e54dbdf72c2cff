"""Load: read a period input from a JSON file, a folder of CSV tables or an XLSX workbook,
and a rule set from TOML, then validate both whole (see `model.read_input`).

JSON numbers are read by their decimal text (never through a binary float) so money
keeps every digit it was written with.

A JSON file takes a fast path (`parse_json_fast`): everything but the contribution
records (period, people, projects: all the money) is parsed exactly as `parse_json_bytes`
does, and the records, which are nearly all of a large input, are turned into checked
columns (`model.RecordColumns`) a chunk at a time, either straight from the bytes with
numpy when they are laid out the usual way (see `_Layout`) or through orjson. Whenever
the fast path cannot vouch for the result (an unusual layout, anything wrong with a
record), the whole text is parsed the exact way instead, so the outcome (values,
problems, messages) is always the same as the exact parse gives.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .gc_pause import no_gc
from .model import (
    CONTRIBUTION_FIELDS,
    NotPlain,
    ParsedJson,
    PeriodInput,
    RecordColumnBuilder,
    RecordColumns,
    read_input,
)
from .problems import InputError, Problem
from .rules import RuleSet, load_ruleset

CHUNK_BYTES = 1 << 20  # contribution records are parsed about this much text at a time
_WS = b" \t\n\r"  # JSON whitespace
_KEY = b'"contributions"'
_OPEN = re.compile(rb"[ \t\n\r]*:[ \t\n\r]*\[")
_SEP = re.compile(rb"\}[ \t\n\r]*,[ \t\n\r]*\{")  # between two records (or inside a string: then a parse fails)


def parse_json_bytes(data: bytes | str, source: str = "(input)") -> Any:
    """Parse JSON text with decimals kept exact; a syntax error becomes an InputError."""
    try:
        return json.loads(data, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(source, f"not valid JSON: {exc}")]) from None


def parse_json_fast(data: bytes, source: str = "(input)") -> Any:
    """Parse a period input's JSON text: a `ParsedJson` when the fast path applies, else
    exactly as `parse_json_bytes` (same values, same errors)."""
    fast = _fast(data, source)
    return fast if fast is not None else parse_json_bytes(data, source)


def _fast(data: bytes, source: str) -> ParsedJson | None:
    """The fast path, for the usual layout `{..., "contributions": [records]}` with the
    records last. None when it does not apply or anything looks unusual.

    Why a success can be trusted: the header text (everything before the records' key,
    closed by `"contributions":[]}`) only parses if the key sits at the top level; the
    records' array then runs to the last `]` before the final `}`; and a chunk of records
    only parses as a JSON array if it starts and ends at record boundaries (a cut inside
    a string or a nested value leaves it unbalanced). So the chunks are exactly the
    records, and the whole text is valid JSON with the same values.
    """
    key = data.find(_KEY)
    if key < 0:
        return None
    m = _OPEN.match(data, key + len(_KEY))
    if m is None:
        return None
    first = m.end()
    end = len(data)  # find the final } and the ] before it without copying the text
    while end > 0 and data[end - 1] in _WS:
        end -= 1
    if end == 0 or data[end - 1] != ord("}"):
        return None
    end -= 1
    while end > 0 and data[end - 1] in _WS:
        end -= 1
    last = end - 1  # the closing ] of the records
    if last < first or data[last] != ord("]"):
        return None
    try:
        header = json.loads(data[:key] + b'"contributions":[]}', parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict):
        return None
    person_ids = _ids(header.get("people"))
    project_ids = _ids(header.get("projects"))
    if person_ids is None or project_ids is None:
        return None
    with no_gc():
        columns = _records(data, first, last, RecordColumnBuilder(person_ids, project_ids))
    if columns is None:
        return None
    return ParsedJson(header, columns, lambda: parse_json_bytes(data, source))


def _records(data: bytes, first: int, last: int, builder: RecordColumnBuilder) -> RecordColumns | None:
    """The records between data[first] and data[last] (the array's brackets excluded), a
    chunk of about CHUNK_BYTES at a time."""
    view = memoryview(data)
    layout: _Layout | None = _Layout(data, builder)
    pos = first
    while pos < last and data[pos] in _WS:
        pos += 1
    while True:
        stop = last
        nxt = -1
        if pos + CHUNK_BYTES < last:
            sep = _SEP.search(data, pos + CHUNK_BYTES, last)
            if sep is not None:
                stop, nxt = sep.start() + 1, sep.end() - 1
        if layout is not None and not layout.chunk(pos, stop):
            layout = None  # not in the usual layout: orjson from here on
        if layout is None:
            buf = bytearray(b"[")
            buf += view[pos:stop]
            buf += b"]"
            try:
                recs = orjson.loads(buf)
            except orjson.JSONDecodeError:
                return None
            del buf
            if not builder.add(recs, dicts=True):
                return None
            del recs
        if nxt < 0:
            break
        pos = nxt
    return builder.finish()


# ----------------------------------------------------------------------------------------
# records in the usual layout, parsed with whole-array operations
#
# A file written by a program (this one's `synth`, an export, `json.dumps` with or without
# indent) lays every record out the same way: the fields in the order of
# CONTRIBUTION_FIELDS, text values without escapes, fte and score as numbers, and the same
# whitespace between the same tokens. Then the positions of the quote characters say where
# every key, text and number is, and a chunk of records can be checked and cut into columns
# with numpy instead of building a dict per record. Every byte of the chunk is accounted
# for (keys, separators, texts, numbers); anything else and the chunk goes to orjson.

_QUOTES_PER_RECORD = 28  # 8 keys and 6 text values, two quotes each
_KEY_SEP = re.compile(rb"[ \t\n\r]*:[ \t\n\r]*")
_ITEM_SEP = re.compile(rb"[ \t\n\r]*,[ \t\n\r]*")
_OPEN_RECORD = re.compile(rb"\{[ \t\n\r]*")
_BETWEEN_RECORDS = re.compile(rb"[ \t\n\r]*\}[ \t\n\r]*,[ \t\n\r]*\{[ \t\n\r]*")
_CLOSE_RECORD = re.compile(rb"[ \t\n\r]*\}[ \t\n\r]*")
_NUMBER_RUN = re.compile(rb"[-+.eE0-9]*")
_JSON_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_JSON_INTEGER = re.compile(rb"-?(?:0|[1-9][0-9]*)")
_NUMBER_CHAR = np.zeros(256, dtype=bool)
_NUMBER_CHAR[np.frombuffer(b"0123456789+-.eE", dtype=np.uint8)] = True
_MAX_NUMBER = 32  # longer number texts go to orjson
_DIGIT_AT = np.array([0, 1, 2, 3, 5, 6, 8, 9])  # YYYY-MM-DD
_YMD = 10 ** np.arange(7, -1, -1, dtype=np.int64)


def _gather(b: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """b[starts[i] + k] for k < width (positions past the end read the last byte)."""
    idx = starts[:, None] + np.arange(width)
    np.minimum(idx, b.shape[0] - 1, out=idx)
    return b[idx]


def _same(b: np.ndarray, starts: np.ndarray, ends: np.ndarray, text: bytes) -> bool:
    """Every b[starts[i]:ends[i]] is exactly `text`."""
    if not (ends - starts == len(text)).all():
        return False
    return not text or bool((_gather(b, starts, len(text)) == np.frombuffer(text, dtype=np.uint8)).all())


def _padded(b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The texts b[starts[i]:ends[i]] as rows of bytes padded with NUL, their lengths, and
    the mask of padding."""
    lengths = ends - starts
    width = max(int(lengths.max()), 1)
    rows = _gather(b, starts, width)
    pad = np.arange(width) >= lengths[:, None]
    rows[pad] = 0
    return rows, lengths, pad


def _distinct(rows: np.ndarray) -> tuple[list[bytes], np.ndarray]:
    """The distinct rows (as bytes, NUL padding removed) and each row's position among them."""
    n, width = rows.shape
    if width <= 8:
        uniq, inv = np.unique(_words(rows), return_inverse=True)
        texts = [t.rstrip(b"\0") for t in uniq.astype("<u8").view(np.dtype("S8")).tolist()]
    else:
        uniq, inv = np.unique(np.ascontiguousarray(rows).view(np.dtype(f"S{width}")).reshape(n), return_inverse=True)
        texts = uniq.tolist()
    return texts, inv.reshape(n)


def _words(rows: np.ndarray) -> np.ndarray:
    """Rows of at most 8 bytes as one unsigned 64-bit number each (distinct rows, distinct numbers)."""
    n, width = rows.shape
    keys = np.zeros((n, 8), dtype=np.uint8)
    keys[:, :width] = rows
    return keys.view("<u8").reshape(n)


_ALL_BYTES = np.uint64(0xFFFFFFFFFFFFFFFF)


def _low_bytes(lengths: np.ndarray) -> np.ndarray:
    """Masks keeping the first `lengths` (0..8) bytes of a little-endian 64-bit word."""
    shift = np.minimum(lengths, 7).astype(np.uint64) * np.uint64(8)
    return np.where(lengths >= 8, _ALL_BYTES, (np.uint64(1) << shift) - np.uint64(1))


class _Layout:
    """Parses chunks of records in the usual layout into a RecordColumnBuilder.

    Fixed texts (keys, separators) and short values are read 8 bytes at a time, through a
    view of the text as unaligned 64-bit words."""

    def __init__(self, data: bytes, builder: RecordColumnBuilder) -> None:
        self.data = data
        self.whole = np.frombuffer(data, dtype=np.uint8)
        self.builder = builder
        self.day_codes = np.zeros(0, dtype=np.int64)  # YYYYMMDD, sorted
        self.day_numbers = np.zeros(0, dtype=np.int64)

    def chunk(self, start: int, stop: int) -> bool:
        """Parse whole records data[start:stop] (`{...}, ..., {...}`); False (nothing added)
        if they are not exactly in the usual layout."""
        if stop + 8 <= len(self.data):
            b = self.whole[start:stop]
            words = np.ndarray((stop - start,), dtype="<u8", buffer=self.data, offset=start, strides=(1,))
        else:  # the last chunk: read from a copy with room for a word after the last byte
            padded = self.data[start:stop] + bytes(8)
            b = np.frombuffer(padded, dtype=np.uint8)[: stop - start]
            words = np.ndarray((stop - start,), dtype="<u8", buffer=padded, strides=(1,))
        try:
            return self._chunk(b, words)
        except (NotPlain, UnicodeDecodeError, ValueError, KeyError, OverflowError):
            return False

    def _chunk(self, b: np.ndarray, words: np.ndarray) -> bool:
        size = b.shape[0]
        if size == 0 or b[0] != ord("{") or (b == ord("\\")).any():
            return False
        q = np.flatnonzero(b == ord('"'))
        if q.shape[0] == 0 or q.shape[0] % _QUOTES_PER_RECORD:
            return False
        Q = q.reshape(-1, _QUOTES_PER_RECORD)
        n = Q.shape[0]
        # the separators, learned from the first record
        head = b[: int(Q[1, 0]) + 1 if n > 1 else size].tobytes()
        opening = head[: int(Q[0, 0])]
        key_sep = head[int(Q[0, 1]) + 1: int(Q[0, 2])]
        item_sep = head[int(Q[0, 3]) + 1: int(Q[0, 4])]
        if not (_OPEN_RECORD.fullmatch(opening) and _KEY_SEP.fullmatch(key_sep) and _ITEM_SEP.fullmatch(item_sep)):
            return False
        ks, its = len(key_sep), len(item_sep)

        # keys and separators: fixed texts at known places in every record, compared a word
        # (8 bytes) at a time; a text shorter than a word is compared under a mask
        names = [f'"{name}"'.encode() for name in CONTRIBUTION_FIELDS]
        segments = [(Q[:, 0], names[0] + key_sep + b'"')]
        for k in range(5):
            segments.append((Q[:, 4 * k + 3], b'"' + item_sep + names[k + 1] + key_sep + b'"'))
        segments.append((Q[:, 23], b'"' + item_sep + names[6] + key_sep))
        fte_start = Q[:, 23] + len(segments[-1][1])
        fte_end = Q[:, 26] - its
        segments.append((fte_end, item_sep + names[7] + key_sep))
        score_start = Q[:, 27] + 1 + ks
        seg, offs, want, mask = [], [], [], []
        for j, (_, text) in enumerate(segments):
            if len(text) < 8:
                seg.append(j)
                offs.append(0)
                want.append(int.from_bytes(text, "little"))
                mask.append((1 << (8 * len(text))) - 1)
            else:
                for o in [*range(0, len(text) - 8, 8), len(text) - 8]:
                    seg.append(j)
                    offs.append(o)
                    want.append(int.from_bytes(text[o:o + 8], "little"))
                    mask.append((1 << 64) - 1)
        starts = np.stack([s for s, _ in segments], axis=1)
        pos = starts[:, seg] + np.array(offs)
        if int(pos.min()) < 0 or int(pos.max()) >= size:
            return False
        got = words[pos] & np.array(mask, dtype=np.uint64)
        if not (got == np.array(want, dtype=np.uint64)).all():
            return False
        del pos, got, starts
        # the end of each score number: the text after it closes the record (and opens the next)
        s0 = int(score_start[-1])
        close = b[s0 + _NUMBER_RUN.match(b[s0:].tobytes()).end():].tobytes()  # type: ignore[union-attr]
        if not _CLOSE_RECORD.fullmatch(close):
            return False
        if n > 1:
            s0 = int(score_start[0])
            between = head[_NUMBER_RUN.match(head, s0).end(): int(Q[1, 0])]  # type: ignore[union-attr]
            if not _BETWEEN_RECORDS.fullmatch(between):
                return False
            score_end = np.append(Q[1:, 0] - len(between), size - len(close))
            if not _same(b, score_end[:-1], Q[1:, 0], between):
                return False
        else:
            score_end = np.array([size - len(close)])

        # every byte outside the texts and numbers is accounted for: now the values
        builder = self.builder
        texts = [self._text(b, words, Q[:, 4 * k + 2] + 1, Q[:, 4 * k + 3]) for k in range(6)]
        (id_rows, id_len), person, project, role, start, end = texts
        if not (id_len > 0).all():
            return False
        ids = _id_texts(id_rows, id_len)
        id_keys = _words(id_rows) if id_rows.shape[1] <= 8 else None
        role_texts, role_inv = _distinct(role[0])
        builder.learn_roles([t.decode() for t in role_texts])
        role_codes = np.array([builder.role_vocab[t.decode()] for t in role_texts], dtype=np.int64)[role_inv]
        return builder.add_columns(
            ids, _codes(person[0], builder.person_index), _codes(project[0], builder.project_index), role_codes,
            self._days(*start), self._days(*end), _numbers(self._text(b, words, fte_start, fte_end, False)),
            _numbers(self._text(b, words, score_start, score_end, False)), id_keys=id_keys,
        )

    @staticmethod
    def _text(b: np.ndarray, words: np.ndarray, starts: np.ndarray, ends: np.ndarray,
              string: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The texts b[starts[i]:ends[i]] as rows of bytes padded with NUL, and their lengths.
        A string must hold no control character (NotPlain); a number only number characters."""
        lengths = ends - starts
        if lengths.shape[0] and int(lengths.max()) <= 8 and int(lengths.min()) >= 0:
            rows = (words[starts] & _low_bytes(lengths)).astype("<u8", copy=False).view(np.uint8).reshape(-1, 8)
            width = max(int(lengths.max()), 1)
            rows = rows[:, :width]
            pad = np.arange(width) >= lengths[:, None]
        elif lengths.shape[0] and int(lengths.max()) == 10 and int(lengths.min()) == 10:  # a date
            rows = np.concatenate([words[starts].astype("<u8", copy=False).view(np.uint8).reshape(-1, 8),
                                   words[starts + 2].astype("<u8", copy=False).view(np.uint8).reshape(-1, 8)[:, 6:]],
                                  axis=1)
            pad = np.zeros(rows.shape, dtype=bool)
        else:
            if int(lengths.min()) < 0:
                raise NotPlain
            rows, lengths, pad = _padded(b, starts, ends)
        if string:
            if np.count_nonzero(rows < 0x20) != np.count_nonzero(pad):
                raise NotPlain  # a control character in a text
        elif not (_NUMBER_CHAR[rows] | pad).all():
            raise NotPlain
        return rows, lengths

    def _days(self, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Day numbers of YYYY-MM-DD texts (each distinct text parsed as the builder does)."""
        if rows.shape[1] != 10 or not (lengths == 10).all():
            raise NotPlain
        if not ((rows[:, 4] == ord("-")) & (rows[:, 7] == ord("-"))).all():
            raise NotPlain
        digits = rows[:, _DIGIT_AT].astype(np.int64) - ord("0")
        if not ((digits >= 0) & (digits <= 9)).all():
            raise NotPlain
        code = digits @ _YMD  # YYYYMMDD
        pos = np.searchsorted(self.day_codes, code)
        np.minimum(pos, max(self.day_codes.shape[0] - 1, 0), out=pos)
        if self.day_codes.shape[0] == 0 or not (self.day_codes[pos] == code).all():
            known = set(self.day_codes.tolist())
            new = sorted({c for c in np.unique(code).tolist() if c not in known})
            texts = [f"{c // 10000:04d}-{c // 100 % 100:02d}-{c % 100:02d}" for c in new]
            self.builder.learn_days(texts)
            codes = np.concatenate([self.day_codes, np.array(new, dtype=np.int64)])
            numbers = np.concatenate([self.day_numbers, np.array([self.builder.day_of[t] for t in texts], np.int64)])
            order = np.argsort(codes)
            self.day_codes, self.day_numbers = codes[order], numbers[order]
            pos = np.searchsorted(self.day_codes, code)
        return self.day_numbers[pos]


def _id_texts(rows: np.ndarray, lengths: np.ndarray) -> list[str]:
    """The rows as str objects: joined by NUL into one text, decoded and split once."""
    n, width = rows.shape
    ext = np.zeros((n, width + 1), dtype=np.uint8)
    ext[:, :width] = rows
    keep = np.arange(width + 1) <= lengths[:, None]  # the text and the NUL after it
    ids = ext[keep].tobytes().decode("utf-8").split("\0")
    ids.pop()
    if len(ids) != n:
        raise NotPlain
    return ids


def _codes(rows: np.ndarray, index: dict[str, int]) -> np.ndarray:
    texts, inv = _distinct(rows)
    table = np.array([index[t.decode("utf-8")] for t in texts], dtype=np.int64)  # KeyError: unknown
    return table[inv]


def _numbers(text: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """JSON numbers as floats, as a JSON parser reads them (an integer via int, so "-0" is 0.0)."""
    rows, lengths = text
    if not ((lengths > 0) & (lengths <= _MAX_NUMBER)).all():
        raise NotPlain
    texts, inv = _distinct(rows)
    vals = []
    for t in texts:
        if _JSON_INTEGER.fullmatch(t):
            vals.append(float(int(t)))
        elif _JSON_NUMBER.fullmatch(t):
            vals.append(float(t))
        else:
            raise NotPlain
    return np.array(vals, dtype=np.float64)[inv]


def _ids(records: Any) -> list[str] | None:
    """The ids of people or projects as written, if every record has a distinct text id."""
    if not isinstance(records, list):
        return None
    ids = [r.get("id") if isinstance(r, dict) else None for r in records]
    if not all(type(i) is str and i for i in ids) or len(set(ids)) != len(ids):
        return None
    return ids  # type: ignore[return-value]


def read_raw_input(path: str | Path) -> Any:
    """The input as data for `model.read_input`: a JSON file (a `ParsedJson` on the fast
    path, else plain data), a folder of CSV tables, or an .xlsx workbook (plain data)."""
    p = Path(path)
    if p.is_dir():
        from .tables import read_csv_folder

        return read_csv_folder(p)
    if p.suffix.lower() == ".xlsx":
        from .tables import read_xlsx

        return read_xlsx(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError([Problem(str(path), f"cannot read input: {exc.strerror}")]) from None
    return parse_json_fast(data, str(path))


def load(input_path: str | Path, rules_ref: str | Path) -> tuple[PeriodInput, RuleSet]:
    """Read and validate a rule set and an input; every problem of both is reported together."""
    problems: list[Problem] = []
    rules: RuleSet | None = None
    raw: Any = None
    try:
        rules = load_ruleset(rules_ref)
    except InputError as exc:
        problems += [Problem(f"rules:{p.path}", p.message) for p in exc.problems]
    try:
        raw = read_raw_input(input_path)
    except InputError as exc:
        problems += exc.problems
    if problems or rules is None:
        raise InputError(problems, "input and rule set" if rules is None else "input")
    return read_input(raw, rules), rules
