"""A real headless browser renders /docs (Swagger UI) and /redoc (ReDoc) from the gateway's own
files (no CDN: the browser cannot resolve any other host) and finds the API in them."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from .browser import WAIT, screenshot


def test_swagger_ui_shows_the_operations(live_server, chrome):
    server = live_server()
    chrome.get(server.url + "/docs")
    wait = WebDriverWait(chrome, WAIT)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")) > 50)
    text = chrome.find_element(By.CSS_SELECTOR, ".swagger-ui").text
    assert "ExSim" in chrome.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    for path in ("/fapi/v1/order", "/fapi/v1/klines", "/admin/step", "/futures/data/openInterestHist"):
        assert path in text
    assert "/stream" in text  # the WebSocket paths, in the description
    paths = {e.get_attribute("data-path") for e in chrome.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/sapi/v1/capital/config/getall" in paths and "/api/v3/time" in paths
    assert chrome.execute_script("return window.ui && window.ui.specSelectors.specJson().get('openapi')") == "3.1.0"
    screenshot(chrome, "docs-swagger-ui")


def test_redoc_shows_the_operations(live_server, chrome):
    server = live_server()
    chrome.get(server.url + "/redoc")
    wait = WebDriverWait(chrome, WAIT)
    wait.until(lambda d: "Klines as of sim time" in d.find_element(By.TAG_NAME, "body").text)
    body = chrome.find_element(By.TAG_NAME, "body").text
    assert "ExSim" in chrome.find_element(By.CSS_SELECTOR, "h1").text
    for summary in ("New order", "Advance exactly N bars (deterministic)", "Open-interest history"):
        assert summary in body
    screenshot(chrome, "docs-redoc")
