"""Request parameters as Binance reads them: the query string plus a form body (whatever the
declared content type), or a JSON object body (the spec's curl examples). Values stay text
until a handler asks for a type; a bad value becomes Binance's error, never an exception."""
from __future__ import annotations

import json
from typing import Optional
from urllib.parse import unquote_plus

from aiohttp import web

from ..engine.errors import ExchangeError, bad_param, missing_param

MAX_PARAM_LEN = 1024
# parsed once per request (auth and the handler both need them)
PARAMS_KEY = web.RequestKey("exsim_params", object) if hasattr(web, "RequestKey") else "exsim_params"


class Params:
    __slots__ = ("values", "raw_query", "raw_body")

    def __init__(self, values: dict[str, str], raw_query: str, raw_body: str) -> None:
        self.values = values
        self.raw_query = raw_query
        self.raw_body = raw_body

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def opt(self, name: str) -> Optional[str]:
        return self.values.get(name) or None  # values are str: "" and missing are both None

    def req(self, name: str) -> str:
        value = self.opt(name)
        if value is None:
            raise missing_param(name)
        return value

    def int(self, name: str, default: Optional[int] = None, lo: int = -(1 << 62),
            hi: int = 1 << 62) -> Optional[int]:
        value = self.opt(name)
        if value is None:
            return default
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        # ASCII only: str.isdigit() also accepts '²' or Arabic-Indic digits, which int() rejects or reads
        if not (digits.isascii() and digits.isdigit()) or len(text) > 19:
            raise ExchangeError(-1100, f"Illegal characters found in parameter '{name}'; "
                                       f"legal range is '^[0-9]{{1,20}}$'.")
        number = int(text)
        if not lo <= number <= hi:
            raise bad_param(name)
        return number

    def req_int(self, name: str, lo: int = -(1 << 62), hi: int = 1 << 62) -> int:
        if self.opt(name) is None:
            raise missing_param(name)
        return self.int(name, None, lo, hi)  # type: ignore[return-value]

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.opt(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise bad_param(name)
        return lowered == "true"

    def req_bool(self, name: str) -> bool:
        """A mandatory "true"/"false" parameter (-1102 when missing, -1130 otherwise bad)."""
        self.req(name)
        return self.bool(name)

    def window(self, default_limit: int, max_limit: int) -> tuple[Optional[int], Optional[int], int]:
        """startTime, endTime and limit as Binance validates them for history routes."""
        start, end = self.int("startTime"), self.int("endTime")
        limit = self.int("limit", default_limit)
        if not 1 <= limit <= max_limit:
            raise bad_param("limit")
        if start is not None and end is not None and start > end:
            raise ExchangeError(-1023, "Start time is greater than end time.")
        return start, end, limit

    def symbol(self, required: bool = True) -> Optional[str]:
        value = self.req("symbol") if required else self.opt("symbol")
        return value.upper() if value is not None else None


MAX_FIELDS = 200


def _pairs(text: str) -> list[tuple[str, str]]:
    """parse_qsl(text, keep_blank_values=True, max_num_fields=200), without its per-call setup:
    a signed order body has ~8 plain fields, and parse_qsl was a tenth of the request's cost."""
    if not text:
        return []
    if text.count("&") >= MAX_FIELDS:
        raise ValueError("Max number of fields exceeded")
    out = []
    for part in text.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in part or "+" in part:
            key, value = unquote_plus(key), unquote_plus(value)
        out.append((key, value))
    return out


def _json_pairs(body: str) -> list[tuple[str, str]]:
    obj = json.loads(body)
    if not isinstance(obj, dict):
        raise ValueError("not an object")
    out = []
    for key, value in obj.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif value is None:
            value = ""
        elif isinstance(value, (int, float, str)):
            value = str(value)
        else:
            value = json.dumps(value)
        out.append((str(key), value))
    return out


async def read_params(request: web.Request) -> Params:
    cached = request.get(PARAMS_KEY)
    if cached is not None:
        return cached
    raw_query = request.rel_url.raw_query_string
    raw_body = ""
    if request.method in ("POST", "PUT", "DELETE") and request.can_read_body:
        data = await request.read()
        try:
            raw_body = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ExchangeError(-1100, "Illegal characters found in the request body.") from None
    try:
        pairs = _pairs(raw_query)
        body = raw_body.strip()
        if body.startswith("{"):
            pairs += _json_pairs(body)
        elif body:
            pairs += _pairs(body)
    except ValueError:
        raise ExchangeError(-1100, "Illegal characters found in the request parameters.") from None
    values: dict[str, str] = {}
    for key, value in pairs:
        if key in values:
            raise ExchangeError(-1101, "Duplicate values for a parameter detected.")
        if len(value) > MAX_PARAM_LEN or len(key) > 100:
            raise ExchangeError(-1100, f"Illegal characters found in parameter '{key[:40]}'; "
                                       "value too long.")
        values[key] = value
    params = Params(values, raw_query, raw_body)
    request[PARAMS_KEY] = params
    return params


def in_window(t: int, start: Optional[int], end: Optional[int]) -> bool:
    return (start is None or t >= start) and (end is None or t <= end)
