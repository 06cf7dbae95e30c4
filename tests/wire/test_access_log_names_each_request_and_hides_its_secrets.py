"""The access log (off by default; `--access-log`, `access_log = true`, ACCESS_LOG or log_level
DEBUG) has a line per request: method, path and query, status, latency and the Binance error
code, and never a signature, API key or secret."""
import json
import re

import pytest
from aiohttp import web

from exsim import config
from exsim.wire import access_log
from exsim.wire.access_log import AccessLogger, redact_query

from tests.process import Gateway, http

pytestmark = pytest.mark.timeout(120)

LINE = re.compile(r" INFO exsim\.access: (\S+) (\S+) (\d{3}) (\d+\.\d\d)ms(?: code=(-?\d+))?$")
SIGNATURE, API_KEY, SECRET = "abc123", "my-api-key-xyz", "s3cr3t-value"


def access_lines(gw: Gateway) -> tuple[list[tuple], str]:
    """Stop the gateway (so every line is written), then its access-log lines and whole stderr."""
    gw.stop()
    with open(gw.err_path, encoding="utf-8") as f:
        text = f.read()
    return [m.groups() for m in map(LINE.search, text.splitlines()) if m], text


def test_signed_request_is_logged_with_its_code_and_without_its_secrets(tmp_path, db_path):
    gw = Gateway(db_path, str(tmp_path), extra=["--access-log"])
    try:
        assert gw.wait_ready(), gw.stderr()
        status, _, body = http(gw.port, "GET", f"/fapi/v1/order?symbol=BTCUSDT&timestamp=1&signature={SIGNATURE}",
                               headers={"X-MBX-APIKEY": API_KEY})
        code = json.loads(body)["code"]
        assert status == 400 and code < 0
        assert http(gw.port, "GET", f"/fapi/v1/time?apiKey={API_KEY}&api_secret={SECRET}")[0] == 200
        assert http(gw.port, "GET", "/nowhere")[0] == 404
    finally:
        lines, text = access_lines(gw)
    assert ("GET", "/fapi/v1/order?symbol=BTCUSDT&timestamp=1&signature=<redacted>", "400") == lines[-3][:3]
    assert lines[-3][4] == str(code)
    assert lines[-2][:3] == ("GET", "/fapi/v1/time?apiKey=<redacted>&api_secret=<redacted>", "200")
    assert lines[-2][4] is None  # a success has no code
    assert lines[-1][:3] + lines[-1][4:] == ("GET", "/nowhere", "404", "-1000")
    assert all(float(line[3]) >= 0 for line in lines) and any(float(line[3]) > 0 for line in lines)
    for secret in (SIGNATURE, API_KEY, SECRET):
        assert secret not in text


@pytest.mark.parametrize("env, logged", [({}, False), ({"LOG_LEVEL": "DEBUG"}, True), ({"ACCESS_LOG": "1"}, True)],
                         ids=["default", "LOG_LEVEL=DEBUG", "ACCESS_LOG=1"])
def test_access_log_is_off_unless_asked_for(tmp_path, db_path, env, logged):
    gw = Gateway(db_path, str(tmp_path), env=env)
    try:
        assert gw.wait_ready(), gw.stderr()
        assert http(gw.port, "GET", "/fapi/v1/ping")[0] == 200
    finally:
        lines, _ = access_lines(gw)
    assert (("GET", "/fapi/v1/ping", "200") in [line[:3] for line in lines]) is logged


def test_off_means_aiohttp_gets_no_access_logger_and_no_middleware_is_added(tmp_path):
    # AppRunner(access_log=None): aiohttp then neither times requests nor calls a logger
    app = web.Application()
    assert access_log.setup(app, config.Config()) == {"access_log": None}
    assert list(app.middlewares) == []
    toml = tmp_path / "on.toml"
    toml.write_text("access_log = true\n")
    on = access_log.setup(app, config.load(str(toml), env={}).config)
    assert on["access_log_class"] is AccessLogger and on["access_log"].name == "exsim.access"
    assert len(app.middlewares) == 1


@pytest.mark.parametrize("raw, shown", [
    ("symbol=BTCUSDT&signature=abc123", "symbol=BTCUSDT&signature=<redacted>"),
    ("Signature=abc&SIGNATURE=def", "Signature=<redacted>&SIGNATURE=<redacted>"),
    ("sig%6Eature=abc123", "sig%6Eature=<redacted>"),  # a name the server decodes to signature
    ("apiKey=k&api-key=k&secretKey=s&listenKey=l&token=t", "apiKey=<redacted>&api-key=<redacted>&"
     "secretKey=<redacted>&listenKey=<redacted>&token=<redacted>"),
    ("signature=a=b&x=1", "signature=<redacted>&x=1"),
    ("signature&x=1", "signature&x=1"),  # no value to hide
    ("", ""),
])
def test_credential_values_are_redacted_and_the_rest_kept_in_order(raw, shown):
    assert redact_query(raw) == shown
