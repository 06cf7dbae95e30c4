"""With admin_token set, the live page asks for it, keeps it in sessionStorage and sends it: on
its feed's first frame and as `Authorization: Bearer` on the admin calls."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from .browser import WAIT, screenshot


def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def test_the_page_uses_the_admin_token(live_server, chrome):
    server = live_server(admin_token="s3cret-token")
    chrome.get(server.url + "/")
    wait = WebDriverWait(chrome, WAIT)
    wait.until(lambda d: "-2015" in text(d, "message"))
    assert text(chrome, "price") == "-"
    screenshot(chrome, "live-page-token-refused")

    chrome.find_element(By.ID, "token").send_keys("s3cret-token")
    chrome.find_element(By.ID, "btn-token").click()
    wait.until(lambda d: text(d, "price") not in ("", "-"))
    assert chrome.execute_script("return sessionStorage.getItem('exsim.adminToken')") == "s3cret-token"
    before = text(chrome, "sim-time")
    chrome.find_element(By.ID, "btn-step").click()  # refused without the header
    wait.until(lambda d: text(d, "sim-time") != before)
    assert "/admin/step" in text(chrome, "message")

    chrome.refresh()  # the token survives a reload of the tab
    wait.until(lambda d: text(d, "price") not in ("", "-"))
