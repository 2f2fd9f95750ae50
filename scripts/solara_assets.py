"""Fill Solara's local asset cache from the npm registry, so the UI works offline.

Solara's pages load their JavaScript and CSS through the server's ``/_solara/cdn/`` route, which
serves files from ``<venv>/share/solara/cdn/<package>@<version>/`` and, only when a file is not
there, fetches it from a public CDN at run time. This script puts the npm packages that the
installed Solara asks for into that folder, with ``npm pack`` (npm's own registry settings and
cache apply). It is idempotent: a package already unpacked (stamp file present) is skipped.

Run by ``./dev setup`` as ``.venv/bin/python scripts/solara_assets.py``. Exit status: 0 when the
cache is complete, 1 when npm is missing or a package could not be fetched, 2 when the installed
Solara is not a version this script knows the assets of (update ``ASSETS`` with Solara).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: npm packages that each Solara version loads from its CDN (from its templates and widgets).
ASSETS: dict[str, tuple[str, ...]] = {
    "1.64.1": (
        "@widgetti/solara-vuetify-app@10.1.1",
        "requirejs@2.3.6",
        "font-awesome@4.5.0",
        "@widgetti/vue-grid-layout@2.3.13-alpha.2",
    ),
}
STAMP = ".defection-complete"


def cache_dir() -> Path:
    """The folder Solara's server reads cached CDN files from (its own setting)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def check_specs_match_solara(specs: tuple[str, ...]) -> list[str]:
    """Return the specs the installed Solara's sources do not mention (should be none)."""
    import solara

    root = Path(solara.__file__).parent
    text = ""
    for pattern in ("server/templates/*.j2", "server/settings.py", "widgets/vue/*.vue"):
        for f in root.glob(pattern):
            text += f.read_text(encoding="utf-8", errors="replace")
    return [s for s in specs if s not in text]


def fetch(spec: str, dest: Path, npm: str) -> None:
    """``npm pack`` one package and unpack its ``package/`` folder into ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", tmp],
            capture_output=True,
            text=True,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if out.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack {spec} failed: {out.stderr.strip() or out.stdout}")
        staging = Path(tmp) / "unpacked"
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(staging, filter="data")
        src = staging / "package"
        if not src.is_dir():
            raise RuntimeError(f"{spec}: tarball has no package/ folder")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(dest))
        (dest / STAMP).write_text(spec + "\n")


def main(argv: list[str] | None = None) -> int:
    """Fill the cache; see the module docstring for the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report whether the cache is full")
    args = ap.parse_args(argv)
    version = importlib.metadata.version("solara")
    specs = ASSETS.get(version)
    if specs is None:
        print(
            f"error: no asset list for solara {version}; known: {', '.join(ASSETS)} "
            "(update ASSETS in scripts/solara_assets.py together with the solara pin)",
            file=sys.stderr,
        )
        return 2
    unknown = check_specs_match_solara(specs)
    if unknown:
        print(f"error: solara {version} does not load {', '.join(unknown)}", file=sys.stderr)
        return 2
    root = cache_dir()
    missing = [s for s in specs if not (root / s / STAMP).is_file()]
    if args.check or not missing:
        for s in missing:
            print(f"missing: {root / s}", file=sys.stderr)
        return 1 if missing else 0
    npm = shutil.which("npm")
    if npm is None:
        print(
            "warning: npm not found; the UI's JavaScript will be fetched from a public CDN at "
            "run time (install npm, e.g. `apt-get install npm`, and rerun ./dev setup to work "
            "offline)",
            file=sys.stderr,
        )
        return 1
    for spec in missing:
        print(f"==> fetching UI asset {spec}", file=sys.stderr)
        try:
            fetch(spec, root / spec, npm)
        except (RuntimeError, OSError, tarfile.TarError) as exc:
            print(f"warning: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
