"""pacing = "lockstep": orders that are in flight together inside one bar are applied in a
canonical order (by account, then by the command's bytes), not in the order they arrived. Two
runs send the same three orders in different orders, all held in flight together (the first
one's body is sent only once the gate has the other two waiting); both runs give every client
order id the same order id and the same sim time (bar close + 1 ms per command before it)."""
from __future__ import annotations

import http.client
import json
import time

from tests.lockstep_bots import lockstep_gateway, status, wait_for

ORDERS = {"cid-a": "0.011", "cid-b": "0.012", "cid-c": "0.013"}


def _body(cid: str) -> bytes:
    return (f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity={ORDERS[cid]}&newClientOrderId={cid}"
            f"&newOrderRespType=RESULT&timestamp={int(time.time() * 1000)}").encode()


def _send(conn: http.client.HTTPConnection, body: bytes, upto: int) -> None:
    conn.putrequest("POST", "/fapi/v1/order")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[:upto])


def _one_run(tmp_path, order: list[str]) -> dict:
    """`order[0]` is sent first but its body completed last; the others in between."""
    with lockstep_gateway(tmp_path, quiet_ms=5, max_wait_ms=60000) as gw:
        conns = {cid: http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30) for cid in order}
        bodies = {cid: _body(cid) for cid in order}
        first = order[0]
        _send(conns[first], bodies[first], len(bodies[first]) // 2)  # in flight, waiting for its body
        wait_for(lambda: status(gw)["lockstep"]["in_flight"] == 1, "the first order in flight")
        for n, cid in enumerate(order[1:], start=1):
            _send(conns[cid], bodies[cid], len(bodies[cid]))
            wait_for(lambda: (lambda s: s["in_flight"] == n + 1 and s["queued"] == n)(status(gw)["lockstep"]),
                     f"{cid} held in admit")
        conns[first].send(bodies[first][len(bodies[first]) // 2:])
        replies = {}
        for cid, conn in conns.items():
            resp = conn.getresponse()
            replies[cid] = json.loads(resp.read())
            assert resp.status == 200, replies[cid]
            conn.close()
        assert status(gw)["lockstep"]["timeouts"] == 0
    return {cid: (r["orderId"], r["updateTime"], r["status"]) for cid, r in replies.items()}


def test_concurrent_orders_of_one_bar_are_applied_in_the_same_order_whatever_the_send_order(tmp_path):
    one = _one_run(tmp_path, ["cid-a", "cid-b", "cid-c"])
    two = _one_run(tmp_path, ["cid-c", "cid-b", "cid-a"])
    assert one == two  # arrival at the gate was b, c, a and then b, a, c: one of them is reordered
    ids = sorted(v[0] for v in one.values())
    assert len(set(ids)) == 3 and all(v[2] == "FILLED" for v in one.values())
    # one bar, consecutive stamps: the n-th command applied in the bar is stamped close + n ms
    times = sorted(v[1] for v in one.values())
    assert times == [times[0], times[0] + 1, times[0] + 2]
    by_id = sorted(one.items(), key=lambda kv: kv[1][0])
    assert [kv[1][1] for kv in by_id] == times  # applied in order-id order, one ms apart
