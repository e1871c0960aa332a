"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright)
against a real `liter-llm api`, with traffic sent by the official `openai` SDK.

Screenshots of every page (light and dark, 1280 px and phone width) go to a temporary
folder, or to the folder named by `LITERLLM_DASHBOARD_SCREENSHOTS` (the docs' images:
`scripts/dashboard_screenshots.sh`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.support.paths import REPO
from tests.support.process import Gateway, Gateways
from tests.support.services import HttpUpstream, free_port, require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_ENV = "LITERLLM_DASHBOARD_SCREENSHOTS"
MASTER = "sk-dashboard-master-0001"
APP_KEY = "vk-dashboard-app-0002"
UPSTREAM_KEY = "sk-upstream-secret-0003"
PAGES = ["overview", "spend", "keys", "models", "requests", "config"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def gateway_config(upstream: HttpUpstream) -> str:
    closed = free_port()  # nothing listens there: the "broken" deployment fails
    return f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"
max_retries = 0

[cooldown]
duration_secs = 120

[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "gpt-4o"
provider_model = "openai/gpt-4o"
api_key = "{UPSTREAM_KEY}"
base_url = "{upstream.base_url}"

[[models]]
name = "broken"
provider_model = "openai/gpt-4o-mini"
api_key = "{UPSTREAM_KEY}"
base_url = "http://127.0.0.1:{closed}/v1"

[[teams]]
name = "research"

[[keys]]
key = "{APP_KEY}"
description = "notebook app"
team = "research"
models = ["chat", "gpt-4o", "broken"]
"""


@dataclass
class Site:
    gateway: Gateway
    shots: Path

    @property
    def url(self) -> str:
        return self.gateway.url

    def client(self, key: str = APP_KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=10)

    def chat(self, model: str, text: str = "hello", key: str = APP_KEY) -> None:
        with self.client(key) as client:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": text}]
            )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        require_service(f"the dashboard's browser tests need Debian's chromium at {CHROMIUM}")
    shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    gateways = Gateways(tmp_path_factory.mktemp("gateways"))
    with HttpUpstream(prompt_tokens=1200, completion_tokens=350) as upstream:
        try:
            yield Site(gateways.start(gateway_config(upstream)), shots)
        finally:
            gateways.close()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Tab:
    """One browser context and page; every console error or page error is kept (a CSP
    violation is a console error), and the test fails on any."""

    def __init__(
        self, browser: Any, site: Site, *, scheme: str = "light", viewport: dict[str, int]
    ) -> None:
        self.site = site
        self.context = browser.new_context(
            viewport=viewport, color_scheme=scheme, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, route: str = "") -> Any:
        self.page.goto(f"{self.site.url}/ui/{route}")
        return self.page

    def sign_in(self, key: str = MASTER) -> Any:
        page = self.open()
        page.get_by_label("Master key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        return page

    def go(self, name: str) -> Any:
        self.page.get_by_role("link", name=name.capitalize(), exact=True).click()
        heading = self.page.get_by_role("heading", level=1, name=name.capitalize())
        heading.wait_for()
        return self.page

    def close(self) -> None:
        self.context.close()
        assert self.errors == []


@pytest.fixture
def tab(browser: Any, site: Site) -> Iterator[Tab]:
    opened = Tab(browser, site, viewport=DESKTOP)
    yield opened
    opened.close()


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def test_sign_in_refuses_a_wrong_key_then_keeps_the_master_key_in_the_tab_only(
    tab: Tab,
) -> None:
    page = tab.sign_in("sk-not-the-master")
    expect()(page.locator("#signin-error")).to_have_text(re.compile("not the master key"))
    page.get_by_label("Master key").fill(APP_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect()(page.locator("#signin-error")).to_have_text(re.compile("virtual key"))
    tab.errors.clear()  # the browser logs the two refused calls
    page.get_by_label("Master key").fill(MASTER)
    page.get_by_role("button", name="Sign in").click()
    expect()(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('literllm.masterKey')") == MASTER
    assert page.evaluate("localStorage.length") == 0
    assert tab.context.cookies() == []
    page.get_by_role("button", name="Sign out").click()
    expect()(page.get_by_label("Master key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_overview_counts_the_requests_sent_with_the_openai_sdk(tab: Tab, site: Site) -> None:
    page = tab.sign_in()
    requests = page.locator(".tile", has_text="Requests").first.locator(".value")
    expect()(requests).not_to_have_text("")
    before = int(requests.inner_text().replace(",", ""))
    for n in range(3):
        site.chat("gpt-4o", f"question {n}")
        site.chat("chat", f"hello {n}")
    page.get_by_role("button", name="Refresh").click()
    expect()(requests).to_have_text(str(before + 6))
    expect()(page.locator(".tile", has_text="Spend").locator(".value")).not_to_have_text("$0.00")
    assert page.locator(".chart canvas").count() == 4  # the four uPlot charts drew
    page.emulate_media(color_scheme="dark")  # redrawn in the dark palette
    expect()(page.locator(".chart canvas")).to_have_count(4)
    page.get_by_role("button", name="Last day").click()
    expect()(page.get_by_role("button", name="Last day")).to_have_attribute("aria-pressed", "true")
    expect()(requests).to_have_text(str(before + 6))  # the same requests, in quarter hours
    expect()(page.locator(".tile", has_text="Latency p99")).to_contain_text("last 24 hours")
    expect()(page.locator(".chart canvas")).to_have_count(4)
    expect()(page.locator("ul.deployments")).to_contain_text("openai/gpt-4o")


def test_a_key_created_in_the_ui_works_until_it_is_revoked_there(tab: Tab, site: Site) -> None:
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab.sign_in()
    page = tab.go("keys")
    page.get_by_role("button", name="Create key").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Description").fill("made in the browser")
    dialog.get_by_label("Models").fill("chat")
    dialog.get_by_label("Requests per minute").fill("30")
    dialog.get_by_role("button", name="Create key").click()
    secret = dialog.locator("#new-secret").inner_text()
    assert secret.startswith("sk-")
    dialog.get_by_role("button", name="Copy key").click()
    expect()(dialog.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.screenshot(path=site.shots / "keys-created-light-1280.png")
    dialog.get_by_role("button", name="Done").click()
    row = page.get_by_role("row", name=re.compile("made in the browser"))
    expect()(row).to_contain_text("30")
    site.chat("chat", "from the new key", key=secret)

    row.get_by_role("button", name="Edit made in the browser").click()
    page.get_by_role("dialog").get_by_label("Requests per minute").fill("45")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect()(row).to_contain_text("45")

    row.get_by_role("button", name="Rotate made in the browser").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate key").click()
    rotated = page.get_by_role("dialog").locator("#new-secret").inner_text()
    page.get_by_role("dialog").get_by_role("button", name="Done").click()
    with pytest.raises(openai.AuthenticationError):
        site.chat("chat", key=secret)
    site.chat("chat", "after rotation", key=rotated)

    row.get_by_role("button", name="Revoke made in the browser").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    expect()(page.get_by_text("Revoked made in the browser.")).to_be_visible()
    expect()(row).to_have_count(0)
    with pytest.raises(openai.AuthenticationError) as refused:
        site.chat("chat", key=rotated)
    assert refused.value.status_code == 401


def test_a_failed_request_is_found_in_the_requests_page(tab: Tab, site: Site) -> None:
    with pytest.raises(openai.APIStatusError) as failed:
        site.chat("broken", "this one fails")
    request_id = failed.value.response.headers["x-request-id"]
    assert failed.value.status_code >= 500
    tab.sign_in()
    page = tab.go("requests")
    page.get_by_label("Status").select_option("error")
    row = page.get_by_role("row", name=re.compile(request_id))
    expect()(row).to_contain_text("broken")
    expect()(row).to_contain_text("notebook app")
    expect()(page.locator("tbody tr", has_text=re.compile(r"\b200\b"))).to_have_count(0)
    page.get_by_label("Status").select_option("")
    expect()(page.locator("tbody tr", has_text="gpt-4o").first).to_be_visible()
    page.get_by_label("Model").select_option("chat")
    expect()(page.locator("tbody tr", has_text="gpt-4o")).to_have_count(0)
    expect()(page.locator("tbody tr", has_text="chat").first).to_be_visible()
    page.get_by_label("Model").select_option("")
    latency = page.get_by_role("columnheader", name="Latency")
    latency.get_by_role("button").click()
    expect()(latency).to_have_attribute("aria-sort", "descending")
    listed = int(page.get_by_role("caption").inner_text().split()[0])
    site.chat("chat", "one more")
    page.get_by_role("button", name="Filter").click()  # what auto-refresh does
    expect()(page.get_by_role("caption")).to_have_text(f"{listed + 1} requests")
    expect()(page.locator("tbody tr", has_text="one more")).to_have_count(0)  # no bodies
    expect()(latency).to_have_attribute("aria-sort", "descending")  # the sort is kept
    page.get_by_label("Key", exact=True).select_option("master")
    expect()(page.locator("tbody tr").first).to_contain_text("No requests match")


def test_spend_by_model_sorts_and_exports_csv(tab: Tab, site: Site) -> None:
    site.chat("gpt-4o", "something to pay for")
    tab.sign_in()
    page = tab.go("spend")
    page.get_by_label("Group by").select_option("model")
    page.get_by_role("button", name="Show").click()
    row = page.locator("tbody tr", has_text="openai/gpt-4o")
    expect()(row).to_contain_text("$0.0")
    header = page.get_by_role("columnheader", name="Spend")
    expect()(header).to_have_attribute("aria-sort", "descending")
    header.get_by_role("button").click()
    expect()(header).to_have_attribute("aria-sort", "ascending")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0] == "model,spend"
    assert "openai/gpt-4o," in text
    page.get_by_label("Split by day").check()
    page.get_by_role("button", name="Show").click()
    expect()(page.get_by_role("columnheader", name="Day (UTC)")).to_be_visible()
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    expect()(page.locator("tbody tr", has_text="openai/gpt-4o")).to_contain_text(today)
    page.get_by_label("Group by").select_option("team")
    page.get_by_label("Split by day").uncheck()
    page.get_by_role("button", name="Show").click()
    expect()(page.locator("tbody tr", has_text="research")).to_contain_text("$0.0")


def test_keyboard_alone_signs_in_and_moves_between_pages(tab: Tab) -> None:
    page = tab.open()
    expect()(page.get_by_label("Master key")).to_be_focused()  # ready to type
    page.keyboard.type(MASTER)
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    page.locator("#skip").focus()
    order = []
    for _ in range(8):
        order.append(page.evaluate("document.activeElement.textContent.trim()"))
        style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert style != "none", order[-1]  # focus is visible
        page.keyboard.press("Tab")
    assert order == [
        "Skip to content",
        "Overview",
        "Spend",
        "Keys",
        "Models",
        "Requests",
        "Config",
        "Sign out",
    ]
    page.get_by_role("link", name="Models").focus()
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", level=1, name="Models")).to_be_visible()
    page.get_by_role("link", name="Keys").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Create key").focus()
    page.keyboard.press("Enter")
    expect()(page.get_by_role("dialog").get_by_label("Description")).to_be_focused()
    page.keyboard.press("Escape")
    expect()(page.get_by_role("dialog")).to_have_count(0)
    expect()(page.get_by_role("button", name="Create key")).to_be_focused()


@pytest.fixture(scope="module")
def runtime_key(site: Site) -> str:
    """A runtime key with limits, so the keys page shows one beside the file's."""
    created = httpx.post(
        f"{site.url}/admin/keys",
        headers={"authorization": f"Bearer {MASTER}"},
        json={
            "description": "ci pipeline",
            "models": ["chat"],
            "rpm": 60,
            "budget_limit": 25,
            "budget_duration": "1mo",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    secret = str(created.json()["key"])
    site.chat("chat", "nightly run", key=secret)
    return secret


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_renders_at_desktop_and_phone_width(
    browser: Any, site: Site, runtime_key: str, scheme: str
) -> None:
    for viewport, size in ((DESKTOP, "1280"), (PHONE, "phone")):
        tab = Tab(browser, site, scheme=scheme, viewport=viewport)
        tab.sign_in()
        expect()(tab.page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
        for name in PAGES:
            page = tab.go(name)
            ready = {
                "overview": ".chart canvas",
                "spend": "table",
                "keys": "table",
                "models": "table",
                "requests": "tbody tr",
                "config": "details",
            }[name]
            page.locator(ready).first.wait_for()
            if name == "models":
                expect()(page.get_by_text(re.compile("cooling down"))).to_be_visible()
            if name == "config":
                text = page.locator("main").inner_text()
                assert MASTER not in text and UPSTREAM_KEY not in text and APP_KEY not in text
            # Nothing wider than the screen but the tables, which scroll in their box.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], (name, width)
            page.screenshot(path=site.shots / f"{name}-{scheme}-{size}.png", full_page=True)
        tab.close()


def test_the_quick_start_shows_a_newcomer_their_requests_and_deployments(
    browser: Any, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The README's path: start the quick start, send a request, open /ui, sign in with
    the master key written in examples/quickstart.toml, and see it all."""
    quickstart = REPO / "examples" / "quickstart.toml"
    settings = tomllib.loads(quickstart.read_text())
    master, demo = settings["general"]["master_key"], settings["keys"][0]["key"]
    gateways = Gateways(tmp_path_factory.mktemp("quickstart"))
    try:
        gateway = gateways.start(quickstart)
        newcomer = Site(gateway, site.shots)
        newcomer.chat("chat", "my first request", key=demo)
        tab = Tab(browser, newcomer, viewport=DESKTOP)
        tab.sign_in(master)
        requests = tab.page.locator(".tile", has_text="Requests").first.locator(".value")
        expect()(requests).to_have_text("1")
        expect()(tab.page.locator(".tile", has_text="Spend").locator(".value")).to_have_text(
            "$0.00"
        )
        page = tab.go("requests")
        row = page.locator("tbody tr").first
        expect()(row).to_contain_text("Demo virtual key")
        expect()(row).to_contain_text("200")
        page = tab.go("models")
        for deployment in ("mock/echo", "mock/echo-2", "mock/echo-backup"):
            expect()(page.get_by_role("cell", name=deployment, exact=True)).to_be_visible()
        answered = page.locator("tbody tr", has=page.get_by_text("healthy", exact=True))
        expect()(answered).to_have_count(1)  # the deployment that answered; the others wait
        tab.go("spend")
        tab.close()
    finally:
        gateways.close()
