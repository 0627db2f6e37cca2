"""The keys that change how curves are drawn (log scale, smoothing, x axis, zoom, pan,
reset, grid), shared by the card's Metrics tab and compare's Curves tab so a key means the
same on both."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from .curves import SMOOTHING_STEPS, CurveView, zoom

CURVE_BINDINGS: list[BindingType] = [
    Binding("l", "toggle_log", "Log scale"),
    Binding("o", "smoothing", "Smoothing"),
    Binding("g", "toggle_grid", "Grid/single"),
    Binding("w", "x_axis", "X: step/wall time"),
    Binding("plus,equals_sign", "zoom(0.5)", "Zoom in"),
    Binding("minus", "zoom(2.0)", "Zoom out"),
    Binding("less_than_sign", "pan(-0.25)", "Pan left", show=False),
    Binding("greater_than_sign", "pan(0.25)", "Pan right", show=False),
    Binding("0", "reset_view", "Reset", show=False),
]


def toolbar_bits(view: CurveView, grid: bool) -> list[str]:
    """The toolbar's state line: every key's current setting."""
    rng = view.step_range
    return [f"log y: {'on' if view.log_y else 'off'} (l)",
            f"smoothing: {view.smoothing:g} (o)", f"x: {view.x_axis} (w)",
            f"{'grid' if grid else 'single'} (g)",
            f"steps: {rng[0]}..{rng[1]}" if rng else "zoom: +/-  pan: </>"]


class CurveKeys:
    """Actions behind CURVE_BINDINGS. The widget using it has `view` (a CurveView), `grid`
    (a bool), `redraw()` and `_bounds()` (the step range of what is drawn, or None)."""

    view: CurveView
    grid: bool

    def redraw(self) -> None:
        raise NotImplementedError

    def _bounds(self) -> tuple[int, int] | None:
        raise NotImplementedError

    def action_toggle_log(self) -> None:
        self.view.log_y = not self.view.log_y
        self.redraw()

    def action_smoothing(self) -> None:
        i = SMOOTHING_STEPS.index(self.view.smoothing) if self.view.smoothing in \
            SMOOTHING_STEPS else 0
        self.view.smoothing = SMOOTHING_STEPS[(i + 1) % len(SMOOTHING_STEPS)]
        self.redraw()

    def action_x_axis(self) -> None:
        self.view.x_axis = "time" if self.view.x_axis == "step" else "step"
        self.redraw()

    def action_toggle_grid(self) -> None:
        self.grid = not self.grid
        self.redraw()

    def action_zoom(self, factor: float) -> None:
        bounds = self._bounds()
        if bounds:
            self.view.step_range = zoom(bounds, self.view.step_range, factor)
            self.redraw()

    def action_pan(self, shift: float) -> None:
        bounds = self._bounds()
        if bounds and self.view.step_range:
            self.view.step_range = zoom(bounds, self.view.step_range, 1.0, shift)
            self.redraw()

    def action_reset_view(self) -> None:
        self.view = CurveView()
        self.redraw()
