"""The live page at / follows the replay as it runs: the price changes when the page's own Step
button advances the clock, a fill shows up as a position and a marker, speed and pause buttons
drive the clock; and the page is no bot (not a ws client, no request weight)."""
from __future__ import annotations

import json
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from .browser import WAIT, screenshot


def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def status(server) -> dict:
    with urllib.request.urlopen(server.url + "/admin/status", timeout=30) as resp:
        return json.loads(resp.read())


def test_live_page_follows_and_drives_the_replay(live_server, chrome):
    server = live_server()  # paused (speed 0): the test moves the clock
    server.step(30)
    chrome.get(server.url + "/")
    wait = WebDriverWait(chrome, WAIT)
    wait.until(lambda d: text(d, "price") not in ("", "-"))
    first_price, first_time = text(chrome, "price"), text(chrome, "sim-time")
    assert text(chrome, "state") == "paused"
    assert text(chrome, "position") == "flat"
    assert "USDT" in text(chrome, "equity")

    # the page's Step button: POST /admin/step; the feed shows the new bar
    step = chrome.find_element(By.ID, "step-bars")
    step.clear()
    step.send_keys("60")
    chrome.find_element(By.ID, "btn-step").click()
    wait.until(lambda d: text(d, "sim-time") != first_time)
    wait.until(lambda d: text(d, "price") != first_price)
    assert status(server)["bars_done"] == 91

    # a fill: the position and a marker on the chart
    server.admin("/fapi/v1/order?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.05")
    wait.until(lambda d: text(d, "fills-count") == "1")
    wait.until(lambda d: text(d, "position").startswith("0.050 @"))
    server.step(20)
    wait.until(lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-frames")) > 3)
    screenshot(chrome, "live-page-with-fill")

    # not bot traffic: no WebSocket client of the market fan-out, no messages sent to bots
    st = status(server)
    assert st["ws_clients"] == 0 and st["ws_messages_sent"] == 0

    # speed: the page's speed field and button, then pause
    speed = chrome.find_element(By.ID, "speed-input")
    speed.clear()
    speed.send_keys("50")
    chrome.find_element(By.ID, "btn-speed").click()
    wait.until(lambda d: text(d, "state") == "running")
    moving = text(chrome, "sim-time")
    wait.until(lambda d: text(d, "sim-time") != moving)
    assert text(chrome, "speed").startswith("50")
    chrome.find_element(By.ID, "btn-pause").click()
    wait.until(lambda d: text(d, "state") == "paused")
    assert status(server)["paused"] is True
    screenshot(chrome, "live-page")
