"""`make browser-check`: Debian's Chromium, driven by Playwright, uses the live service as a newcomer and a
frontend would. Swagger UI: authorize with a minted token, "Try it out" on createTask and listTasks, see
201 and 200 rendered. A page on an allowed origin: calls the API cross-origin with a bearer token and
reads the headers a frontend needs. Run by `tests/live-server` (API_BASE, ALICE_TOKEN, PAGE_ORIGIN);
screenshots of a failure go to .browser-check/.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root, with no sandbox; without the background-networking flags Chromium keeps dialling Google's
# hosts, which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(".browser-check")
TIMEOUT_MS = 15_000


def try_it_out(
    page: Page,
    operation: str,
    user_id: str,
    body: dict[str, Any] | None = None,
    prefilled: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Expands the operation, fills it in, executes it; the status and body Swagger UI renders. "Try it
    out" must pre-fill the parameters in `prefilled` with exactly these values (defaults, or nothing)."""
    block = page.locator(f"#operations-tasks-{operation}")
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    for name, expected in (prefilled or {}).items():
        value = block.locator(f'tr[data-param-name="{name}"] input').input_value()
        assert value == expected, f"Try it out pre-fills {name} with {value!r}, not {expected!r}"
    block.locator('tr[data-param-name="user_id"] input').fill(user_id)
    if body is not None:
        block.locator("textarea.body-param__text").fill(json.dumps(body))
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=TIMEOUT_MS)
    rendered = block.locator(".live-responses-table .response-col_description pre").first.inner_text()
    return status.inner_text().strip(), rendered


# The spec's defaults, or empty where there is none (an example there would be sent as if typed).
DEFAULTS_ONLY = {"sort": "", "due_before": "", "reminder_before": "", "q": "", "limit": "100", "offset": ""}


def check_swagger_ui(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/ui/")
    page.locator(".swagger-ui .info .title").wait_for(timeout=TIMEOUT_MS)
    page.locator("button.btn.authorize").first.click()
    page.locator(".modal-ux input").first.fill(token)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()
    status, body = try_it_out(page, "createTask", "alice", {"title": "Made in Swagger UI"})
    assert status == "201", (status, body)
    assert json.loads(body)["title"] == "Made in Swagger UI", body
    page.reload()  # persistAuthorization: the token survives a reload
    page.locator(".swagger-ui .info .title").wait_for(timeout=TIMEOUT_MS)
    status, body = try_it_out(page, "listTasks", "alice", prefilled=DEFAULTS_ONLY)
    assert status == "200", (status, body)
    assert [task["title"] for task in json.loads(body)] == ["Made in Swagger UI"], body
    print("swagger ui: authorized, createTask 201, reloaded, listTasks 200")


CROSS_ORIGIN_SCRIPT = """async ([base, token]) => {
  const auth = { Authorization: `Bearer ${token}` };
  const json = { ...auth, "Content-Type": "application/json" };
  const created = await fetch(`${base}/alice/tasks`, { method: "POST", headers: json, body: '{"title":"cors"}' });
  await fetch(`${base}/alice/tasks`, { method: "POST", headers: json, body: '{"title":"cors 2"}' });
  const listed = await fetch(`${base}/alice/tasks?limit=1`, { headers: auth });
  const refused = await fetch(`${base}/alice/tasks`);
  const h = (r, name) => r.headers.get(name);
  return {
    created: [created.status, h(created, "Location"), h(created, "X-Request-ID")],
    listed: [listed.status, h(listed, "X-Total-Count"), h(listed, "Link"), (await listed.json()).length],
    refused: [refused.status, h(refused, "WWW-Authenticate"), (await refused.json()).detail],
  };
}"""


def check_cross_origin(page: Page, base: str, token: str, page_origin: str) -> None:
    page.goto(f"{page_origin}/")
    seen = page.evaluate(CROSS_ORIGIN_SCRIPT, [base, token])
    status, location, request_id = seen["created"]
    assert status == 201 and location.startswith("/api/alice/tasks/") and request_id, seen
    status, total, link, count = seen["listed"]
    assert status == 200 and int(total) >= 2 and 'rel="next"' in link and count == 1, seen
    status, challenge, detail = seen["refused"]
    assert status == 401 and challenge.startswith("Bearer") and detail, seen
    print(f"cross-origin from {page_origin}: Location, X-Request-ID, X-Total-Count, Link, WWW-Authenticate read")


class BlankPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>frontend</title><p>a page on an allowed origin"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> int:
    base, token, page_origin = os.environ["API_BASE"], os.environ["ALICE_TOKEN"], os.environ["PAGE_ORIGIN"]
    origin = urlsplit(page_origin)
    server = ThreadingHTTPServer((origin.hostname or "127.0.0.1", origin.port or 80), BlankPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        step = "swagger-ui"
        try:
            check_swagger_ui(page, base, token)
            step = "cross-origin"
            check_cross_origin(page, base, token, page_origin)
        except Exception:
            SCREENSHOTS.mkdir(exist_ok=True)
            shot = SCREENSHOTS / f"failure-{step}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"browser check failed at {step}; screenshot: {shot}", file=sys.stderr)
            raise
        finally:
            browser.close()
            server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
