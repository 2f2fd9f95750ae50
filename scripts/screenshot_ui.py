"""Make the README's screenshot of the UI: start ``defection ui``, step a scenario, take a picture.

    .venv/bin/python scripts/screenshot_ui.py                      # docs/ui.png: Syria, day 60
    .venv/bin/python scripts/screenshot_ui.py --scenario soviet_1991 --days 175 --out /tmp/s.png

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``) and the project's
environment (``./dev setup``). The run is deterministic (seed 1), so the picture only changes
when the model or the UI does.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from defection.viz import CHROMIUM_ARGS


def main() -> int:
    """Start the UI, step it and save the screenshot."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="syria_2011")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--out", type=Path, default=Path("docs/ui.png"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--width", type=int, default=1600)
    ap.add_argument("--height", type=int, default=1250)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("defection")
    proc = subprocess.Popen(
        [str(exe), "ui", args.scenario, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    print("error: defection ui did not start", file=sys.stderr)
                    return 1
                time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=list(CHROMIUM_ARGS))
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"http://127.0.0.1:{port}/")
            counter = page.locator(".day-counter")
            expect(counter).to_have_text("day 0", timeout=60_000)
            for day in range(1, args.days + 1):
                if not page.locator(".btn-step").is_enabled():
                    break  # the run stopped (outcome)
                page.locator(".btn-step").click()
                expect(counter).to_have_text(f"day {day}")
            page.wait_for_timeout(500)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            shown = counter.inner_text()
            browser.close()
        print(f"wrote {args.out} ({args.scenario}, seed 1, {shown})")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
