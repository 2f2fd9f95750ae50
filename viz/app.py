"""The Solara page: ``defection ui`` serves :func:`Page` (``solara run defection.viz.app``).

Plain Solara components over a :class:`~defection.viz.session.Session` per browser tab: a scenario
picker, run controls, lever sliders generated from the parameter registry, and four views (unit
network, regional grids, charts, event log). The pictures are PNGs made by
:mod:`defection.viz.render`. The scenario first shown comes from the ``DEFECTION_UI_SCENARIO``
environment variable (set by ``defection ui``).
"""

from __future__ import annotations

import os
import threading
import time
from base64 import b64encode

import solara

from defection.model.params import Param
from defection.viz.render import MAP_COLOURS
from defection.viz.session import (
    Session,
    SessionError,
    lever_groups,
    needs_reset,
)

DEFAULT_SCENARIO = "syria_2011.toml"
PLAY_INTERVAL_S = 0.05
SECTION_TITLES = {
    "opposition": "Opposition's levers",
    "soldiers": "Regime's levers: the army",
    "regime": "Regime's levers: repression and messaging",
    "elites": "Regime's levers: the elites",
}


def _initial_scenario() -> str:
    return os.environ.get("DEFECTION_UI_SCENARIO") or DEFAULT_SCENARIO


def _css_name(name: str) -> str:
    return name.replace(".", "-").replace("_", "-")


def _fmt(p: Param, value: float) -> str:
    return f"{int(value)}" if p.type == "int" else f"{value:.3g}"


def Heading(text: str, size: str = "15px") -> None:
    """A bold line (plain text: solara.Markdown would load mermaid from a CDN)."""
    solara.Text(text, style={"font-weight": "bold", "font-size": size, "margin-top": "6px"})


@solara.component
def LeverSlider(p: Param, session: Session, value: float, on_change) -> None:
    """One slider generated from a registry entry: its range, unit and help text."""

    def set_value(v: float) -> None:
        session.set_lever(p.name, v)
        on_change()

    pending = needs_reset(p.name)
    with solara.Div(classes=["lever", f"lever-{_css_name(p.name)}"]):
        label = f"{p.leaf.replace('_', ' ')} ({p.unit})"
        if p.type == "int":
            solara.SliderInt(
                label, value=int(value), min=int(p.lo), max=int(p.hi), on_value=set_value
            )
        else:
            step = (p.hi - p.lo) / 100
            solara.SliderFloat(
                label, value=float(value), min=p.lo, max=p.hi, step=step, on_value=set_value
            )
        note = " Applies on reset." if pending else ""
        solara.Text(
            f"{p.meaning}{note} Range {p.lo:g} to {p.hi:g}.",
            style={"font-size": "11px", "color": "#666"},
        )


@solara.component
def Page() -> None:
    """The whole app."""
    # the session serves only the scenarios it lists (checked in Session.reset, on the server)
    session = solara.use_memo(lambda: Session(_initial_scenario()), [])
    files = list(session.choices)
    lock = solara.use_memo(threading.Lock, [])
    shown = solara.use_memo(threading.Event, [])  # set each time the page is drawn
    tick, set_tick = solara.use_state(0)  # the model moved (step, reset): redraw the pictures
    lever_tick, set_lever_tick = solara.use_state(0)  # a slider moved: update the values shown
    playing = solara.use_reactive(False)
    seed = solara.use_reactive(session.seed)
    per_frame = solara.use_reactive(1)
    error = solara.use_reactive("")

    def bump() -> None:
        set_tick(lambda t: t + 1)

    def lever_moved() -> None:
        set_lever_tick(lambda t: t + 1)

    def do_step() -> None:
        with lock:
            session.step()
        bump()

    def do_reset() -> None:
        playing.set(False)
        message = ""
        with lock:
            try:
                session.reset(seed=seed.value)
            except SessionError as exc:  # e.g. a negative seed: shown, the run stays
                message = str(exc)
        error.set(message)  # outside the lock: setting state may redraw the page at once
        bump()

    def pick(name: str) -> None:
        playing.set(False)
        message = ""
        with lock:
            try:
                session.reset(seed=seed.value, scenario=name)
            except SessionError as exc:  # not a listed scenario, or a bad seed
                message = str(exc)
            except Exception as exc:  # noqa: BLE001 - shown on the page, not a dead tab
                message = f"{name}: {exc}"
        error.set(message)
        bump()

    def play_loop() -> None:
        while playing.value:
            t = time.perf_counter()
            with lock:
                if not session.running:
                    break
                session.step(per_frame.value)
                shown.clear()
            bump()
            # one day at a time: wait until the page has drawn this day (renders must not queue
            # up ahead of the user's clicks), then rest at least as long as the day took
            shown.wait(timeout=10)
            time.sleep(max(PLAY_INTERVAL_S, time.perf_counter() - t))
        playing.set(False)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def draw():
        with lock:
            return session.frame()

    frame = solara.use_memo(draw, [tick])
    with lock:
        model = session.model
        log = session.event_log()
        upcoming = session.scheduled()
        levers = {p.name: session.lever_value(p.name) for ps in lever_groups().values() for p in ps}
        live = {name: model.p[name] for name in levers}
    solara.use_effect(shown.set, None)  # after every render, once the widgets are updated
    del lever_tick

    solara.Title("defection")
    solara.Style(".event-log { max-height: 260px; overflow-y: auto; font-size: 13px; }")
    with solara.Columns([1, 3], style={"padding": "8px"}):
        with solara.Column(style={"max-height": "96vh", "overflow-y": "auto"}):
            Heading("defection", "24px")
            solara.Select(
                "Scenario",
                values=files,
                value=session.scenario,
                on_value=pick,
                classes=["scenario-picker"],
            )
            solara.InputInt("Seed (applies on reset)", value=seed, classes=["seed-input"])
            solara.SliderInt("Days per frame when playing", value=per_frame, min=1, max=30)
            with solara.Row():
                solara.Button(
                    "Play",
                    on_click=lambda: playing.set(True),
                    disabled=playing.value or not session.running,
                    color="primary",
                    classes=["btn-play"],
                )
                solara.Button(
                    "Pause",
                    on_click=lambda: playing.set(False),
                    disabled=not playing.value,
                    classes=["btn-pause"],
                )
                solara.Button(
                    "Step",
                    on_click=do_step,
                    disabled=playing.value or not session.running,
                    classes=["btn-step"],
                )
                solara.Button("Reset", on_click=do_reset, classes=["btn-reset"])
            solara.Text(f"day {model.day}", classes=["day-counter"], style={"font-size": "20px"})
            outcome = (
                f"{model.outcome} on day {model.outcome_day} ({model.outcome_rule})"
                if model.outcome
                else "undecided"
            )
            solara.Text(f"outcome: {outcome}", classes=["outcome"])
            solara.Text(
                f"last step {session.last_step_ms:.0f} ms, pictures {frame.render_ms:.0f} ms",
                classes=["render-ms"],
                style={"font-size": "11px", "color": "#666"},
            )
            if error.value:
                solara.Error(error.value, classes=["scenario-error"])
            for section, params in lever_groups().items():
                Heading(SECTION_TITLES.get(section, section))
                for p in params:
                    LeverSlider(p, session, levers[p.name], lever_moved)
            Heading("Lever values in the running model")
            with solara.Column(classes=["model-values"], gap="0px"):
                for p in (p for ps in lever_groups().values() for p in ps):
                    solara.Text(
                        f"{p.name} = {_fmt(p, live[p.name])}",
                        classes=["model-value", f"model-value-{_css_name(p.name)}"],
                        style={"font-size": "11px", "font-family": "monospace"},
                    )
        with solara.Column():
            with solara.Columns([1, 1]):
                with solara.Column():
                    Heading("Unit network")
                    solara.Text(
                        "Companies as pies of their soldiers' states, guard units ringed; "
                        "spokes to battalions, faint lines for cross ties.",
                        style={"font-size": "12px"},
                    )
                    solara.Image(frame.network, width="100%", classes=["network-view"])
                with solara.Column():
                    Heading("Charts")
                    solara.Image(frame.charts, width="100%", classes=["charts-view"])
            Heading("Map: each region's grid")
            with solara.Row(style={"flex-wrap": "wrap", "gap": "6px", "font-size": "11px"}):
                for name, colour in MAP_COLOURS.items():
                    with solara.Row(gap="2px"):
                        solara.Text(
                            "\u25a0",
                            style={"color": colour, "-webkit-text-stroke": "0.5px #999"},
                        )
                        solara.Text(name)
            cols = len(frame.regions) if len(frame.regions) <= 8 else 5
            with solara.GridFixed(columns=cols, column_gap="6px", row_gap="6px"):
                for png, summ in zip(frame.regions, frame.summaries, strict=True):
                    with solara.Div(classes=["region-panel"], style={"font-size": "11px"}):
                        mark = " \u2022 defection" if summ["had_defection"] else ""
                        solara.Text(
                            f"{summ['name']}{mark}",
                            style={"font-weight": "bold", "color": "#d1495b" if mark else "black"},
                        )
                        solara.v.Html(
                            tag="img",
                            attributes={
                                "src": "data:image/png;base64," + b64encode(png).decode(),
                                "alt": f"grid of {summ['name']}",
                            },
                            style_="width: 100%; image-rendering: pixelated; display: block",
                        )
                        solara.Text(
                            f"active {summ['active']:.0%} \u00b7 jailed {summ['jailed']:.0%} "
                            f"\u00b7 garrison left {summ['left']:.0%} \u00b7 legitimacy "
                            f"{summ['legitimacy']:.2f}"
                        )
            Heading("Event log")
            with solara.Column(classes=["event-log"], gap="0px"):
                if not log:
                    solara.Text("nothing yet", classes=["event-log-empty"])
                for day, text in reversed(log):
                    solara.Text(f"day {day}: {text}", classes=["event-log-entry"])
                for day, text in upcoming:
                    solara.Text(
                        f"scheduled, day {day}: {text}",
                        classes=["event-log-scheduled"],
                        style={"color": "#888"},
                    )
