"""How a scenario is named to the user: shared by the command line and the browser UI.

Kept apart from :mod:`defection.model.scenario` (loading and validation) so that the CLI and the
UI share these helpers without either importing the other.
"""

from __future__ import annotations

from pathlib import Path

from defection.model.scenario import bundled_dir, bundled_names, find


def picker_value(name_or_path: str | Path) -> str:
    """The scenario picker's value for a scenario: a bundled file's name, or the path as given.

    Raises:
        ScenarioError: No such file and no bundled scenario of that name.
    """
    path = find(name_or_path)
    if path.parent.resolve() == bundled_dir().resolve():
        return path.name
    return str(name_or_path)


def scenario_files(extra: str | Path | None = None) -> list[str]:
    """The scenario picker's choices: the files in ``scenarios/``, plus ``extra`` if given.

    Bundled scenarios are listed by file name (``syria_2011.toml``); ``extra`` (a path passed to
    ``defection ui``) is listed as given, first, unless it is one of the bundled files.
    """
    return list(scenario_choices(extra))


def scenario_choices(extra: str | Path | None = None) -> dict[str, Path]:
    """The picker's values (as :func:`scenario_files`), each with the file it stands for.

    This is the whole of what a UI session serves: a value a browser sends is looked up here and
    never used as a path.

    Raises:
        ScenarioError: ``extra`` is no file and no bundled scenario.
    """
    bundled = {f"{name}.toml": bundled_dir() / f"{name}.toml" for name in bundled_names()}
    if extra is None:
        return bundled
    value = picker_value(extra)
    if value in bundled:
        return bundled
    return {value: find(extra).resolve(), **bundled}
