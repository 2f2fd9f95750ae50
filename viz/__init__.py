"""Browser UI (Solara) over the model."""

#: How the project starts Debian's headless Chromium (the browser tests, the README screenshot):
#: without the background-networking flags it keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)
