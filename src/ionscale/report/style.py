"""One figure style for every ionscale figure: journal column widths, 300 dpi, no clipped text.

Every figure the report shows (and :func:`ionscale.campaign.figure_png` stores) goes through
:func:`save_figure`, which

* draws under :data:`RC` (7-8 pt text, thin lines, constrained layout);
* sets the width to a journal column: single (3.35 in, 85 mm) or double (7 in, 178 mm), the
  height scaled with it, so the PNG prints at its size at 300 dpi;
* wraps titles and axis labels that are wider than their axes (or the figure);
* moves a legend that covers data to a free corner of its axes, or outside it (below a
  single-column figure, to the right of a panel otherwise);
* keeps every text at 6 pt or more;
* blanks tick labels that would overlap another tick label (a log axis spanning less than a
  decade labels every minor tick; a secondary °C axis crowds at the hot end);

and returns the figure as PNG (300 dpi) and SVG bytes. A technique's ``plot()`` can draw at
the right size from the start with :func:`new_axes` / :func:`new_figure`.
:func:`text_problems` lists any text that still crosses the figure's edge or another text
(the check the tests run on every figure).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from ionscale.report.style import new_axes, save_figure
>>> ax = new_axes()
>>> _ = ax.plot([1, 2, 3], [1, 4, 9], label="data")
>>> out = save_figure(ax.figure)
>>> sorted(out), out["png"][:4] == b"\\x89PNG"
(['png', 'svg'], True)
"""

from __future__ import annotations

import contextlib
import io
import textwrap
from collections.abc import Iterator
from typing import Any

import numpy as np

#: Journal column widths, inches: single column (85 mm), 1.5 column (120 mm), double (178 mm).
SINGLE = 3.35
ONE_HALF = 4.7
DOUBLE = 7.0
WIDTHS = {"single": SINGLE, "one-half": ONE_HALF, "double": DOUBLE}
#: Resolution of the PNG: 300 dpi at the printed size.
DPI = 300
#: Smallest text size allowed, points.
MIN_FONT = 6.0
#: Tallest figure, inches (a journal page less its caption).
MAX_HEIGHT = 9.0

#: Matplotlib settings of every ionscale figure.
RC: dict[str, Any] = {
    "font.size": 8.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 7.0,
    "legend.title_fontsize": 7.0,
    "figure.titlesize": 8.5,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.5,
    "errorbar.capsize": 1.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 3.0,
    "ytick.major.size": 3.0,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "legend.borderaxespad": 0.4,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "figure.constrained_layout.use": True,
    "figure.constrained_layout.h_pad": 0.03,
    "figure.constrained_layout.w_pad": 0.03,
    "svg.fonttype": "path",
    "svg.hashsalt": "ionscale",
    "image.interpolation": "nearest",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which figures are drawn with :data:`RC`."""
    import matplotlib.pyplot as plt

    with plt.rc_context(RC):
        yield


def figure_size(width: str | float = "single", aspect: float = 0.72,
                height: float | None = None) -> tuple[float, float]:
    """``(width, height)`` in inches for a column width name (or inches) and an aspect ratio
    (height / width)."""
    w = WIDTHS[width] if isinstance(width, str) else float(width)
    return w, min(height if height is not None else w * aspect, MAX_HEIGHT)


def new_figure(width: str | float = "single", aspect: float = 0.72, *, nrows: int = 1,
               ncols: int = 1, height: float | None = None, **kwargs):
    """A new figure at a journal width, constrained layout: ``(fig, axes)`` as
    :func:`matplotlib.pyplot.subplots` returns them."""
    import matplotlib.pyplot as plt

    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=figure_size(width, aspect, height), **kwargs)


def new_axes(ax=None, width: str | float = "single", aspect: float = 0.72):
    """Return ``ax``, or the Axes of a new single-panel figure at a journal width (for
    ``plot(ax=None)``)."""
    if ax is not None:
        return ax
    return new_figure(width, aspect)[1]


def figure_of(ax) -> Any:
    """The figure of what a ``plot()`` returned (an Axes, an array of Axes, or a figure)."""
    if hasattr(ax, "savefig"):
        return ax
    if hasattr(ax, "figure"):
        return ax.figure
    return np.ravel(ax)[0].figure


# ----------------------------------------------------------------------------------- layout


def _renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def journal_width(width: float) -> float:
    """The journal column width a figure of ``width`` inches is set to."""
    return SINGLE if width <= 5.6 else DOUBLE


def _set_width(fig) -> None:
    w, h = fig.get_size_inches()
    target = journal_width(w)
    if abs(w - target) > 0.01:
        fig.set_size_inches(target, min(h * target / w, MAX_HEIGHT))


def _min_font(fig) -> None:
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        if t.get_fontsize() < MIN_FONT:
            t.set_fontsize(MIN_FONT)


def _wrap_to(text_artist, renderer, width_px: float) -> None:
    """Wrap ``text_artist`` at spaces until it is at most ``width_px`` wide."""
    text = text_artist.get_text()
    if not text.strip() or width_px <= 0:
        return
    if text_artist.get_window_extent(renderer).width <= width_px:
        return
    paragraphs = text.split("\n")
    longest = max(len(p) for p in paragraphs)
    for n in range(longest - 1, 7, -1):
        wrapped = "\n".join(textwrap.fill(p, n, break_on_hyphens=False) if len(p) > n else p
                            for p in paragraphs)
        text_artist.set_text(wrapped)
        if text_artist.get_window_extent(renderer).width <= width_px:
            return
    # words longer than the room: leave the shortest wrap found


def _is_colorbar(ax) -> bool:
    return hasattr(ax, "_colorbar") or ax.get_label() == "<colorbar>"


def _wrap_titles(fig, renderer) -> None:
    for ax in fig.axes:
        if not ax.get_visible() or _is_colorbar(ax):
            continue
        width = ax.bbox.width
        # a title can use its axes' width; a lone centred title may spill a little
        for t in (ax.title, ax._left_title, ax._right_title):
            _wrap_to(t, renderer, width * 1.02)
        _wrap_to(ax.xaxis.label, renderer, width)
        _wrap_to(ax.yaxis.label, renderer, ax.bbox.height)
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None:
        _wrap_to(suptitle, renderer, fig.bbox.width * 0.96)
    for t in fig.texts:
        _wrap_to(t, renderer, fig.bbox.width * 0.96)


def _densify(xy: np.ndarray, step: float = 3.0, limit: int = 20000) -> np.ndarray:
    """Points every ``step`` pixels along a polyline (display coordinates)."""
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2:
        return xy
    seg = np.diff(xy, axis=0)
    n = np.clip(np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / step).astype(int), 1, 200)
    if n.sum() > limit:
        return xy
    parts = [xy[i] + seg[i] * np.linspace(0, 1, k, endpoint=False)[:, None]
             for i, k in enumerate(n)]
    parts.append(xy[-1:])
    return np.concatenate(parts)


def _obstacles(ax, renderer) -> tuple[np.ndarray, list]:
    """Display points of the data of ``ax`` (and its twins) and boxes of images, bars and
    texts: what a legend must not cover."""
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.patches import Rectangle

    fig = ax.figure
    siblings = [a for a in fig.axes if a is ax or (
        not _is_colorbar(a) and a.bbox.overlaps(ax.bbox)
        and abs(a.bbox.x0 - ax.bbox.x0) < 2 and abs(a.bbox.y1 - ax.bbox.y1) < 2)]
    points: list[np.ndarray] = []
    boxes: list = []
    clip = ax.bbox
    for a in siblings:
        for line in a.lines:
            if not line.get_visible() or not line.get_transform().contains_branch(a.transData):
                continue
            xy = line.get_transform().transform(np.column_stack(line.get_data()).astype(float))
            points.append(_densify(xy) if line.get_linestyle() not in ("None", "", " ")
                          else xy)
        for c in a.collections:
            if not c.get_visible():
                continue
            if isinstance(c, PathCollection) and len(c.get_offsets()):
                points.append(c.get_offset_transform().transform(c.get_offsets()))
            elif isinstance(c, LineCollection):
                for seg in c.get_segments():
                    if len(seg):
                        points.append(_densify(c.get_transform().transform(seg)))
        for p in a.patches:
            # bars are data; axvspan/axhspan shading (blended transforms) is background
            if (isinstance(p, Rectangle) and p.get_visible() and p.get_height() != 0
                    and p.get_transform().contains_branch(a.transData)):
                boxes.append(p.get_window_extent(renderer))
        for im in a.images:
            boxes.append(im.get_window_extent(renderer))
        for t in a.texts:
            if t.get_visible() and t.get_text().strip():
                boxes.append(t.get_window_extent(renderer))
    pts = np.concatenate(points) if points else np.empty((0, 2))
    if len(pts):
        inside = ((pts[:, 0] >= clip.x0) & (pts[:, 0] <= clip.x1)
                  & (pts[:, 1] >= clip.y0) & (pts[:, 1] <= clip.y1))
        pts = pts[inside]
    return pts, boxes


def _covers(bbox, pts: np.ndarray, boxes: list, pad: float = 2.0) -> bool:
    x0, y0, x1, y1 = bbox.x0 - pad, bbox.y0 - pad, bbox.x1 + pad, bbox.y1 + pad
    if len(pts) and np.any((pts[:, 0] >= x0) & (pts[:, 0] <= x1)
                           & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)):
        return True
    return any(b.x0 < x1 and b.x1 > x0 and b.y0 < y1 and b.y1 > y0 and b.width > 0
               and b.height > 0 for b in boxes)


_INSIDE = ("upper right", "upper left", "lower left", "lower right", "center right",
           "center left", "upper center", "lower center")


def _gap_below(ax, renderer) -> float:
    """Inches from the bottom of ``ax`` to the bottom of its tick labels and x label."""
    bottoms = [ax.bbox.y0]
    for a in ax.figure.axes:
        if a is ax or (abs(a.bbox.x0 - ax.bbox.x0) < 2 and abs(a.bbox.y0 - ax.bbox.y0) < 2):
            for artist in (a.xaxis,):
                box = artist.get_tightbbox(renderer)
                if box is not None and box.height > 0:
                    bottoms.append(box.y0)
    return (ax.bbox.y0 - min(bottoms)) / ax.figure.dpi + 0.04


def _place_legends(fig, renderer) -> bool:
    """Move every legend that covers data: to a free place inside its axes, else below the
    axes (clear of its tick labels and x label). Returns True when one was moved outside."""
    from matplotlib.transforms import ScaledTranslation

    moved = False
    for ax in list(fig.axes):
        leg = ax.get_legend()
        if leg is None or not leg.get_visible() or not leg.texts:
            continue
        if not _anchored_to_axes(leg, ax):
            continue  # placed outside on purpose
        pts, boxes = _obstacles(ax, renderer)
        if not _covers(leg.get_window_extent(renderer), pts, boxes):
            continue
        free = None
        for loc in _INSIDE:
            leg.set_loc(loc)
            box = leg.get_window_extent(renderer)
            if (box.width < ax.bbox.width and box.height < ax.bbox.height
                    and not _covers(box, pts, boxes)):
                free = loc
                break
        if free is not None:
            continue
        moved = True
        gap = _gap_below(ax, renderer)
        leg.set_loc("upper center")
        leg.set_bbox_to_anchor(
            (0.5, 0.0), transform=ax.transAxes + ScaledTranslation(0, -gap, fig.dpi_scale_trans))
        _fit_legend_width(leg, renderer, fig.bbox.width * 0.96)
    return moved


def _fit_legend_width(leg, renderer, width_px: float) -> None:
    """Wrap the labels of a legend wider than ``width_px``."""
    box = leg.get_window_extent(renderer)
    if box.width <= width_px:
        return
    texts = [(t, t.get_window_extent(renderer).width) for t in leg.texts]
    widest = max(w for _, w in texts)
    room = widest - (box.width - width_px)
    for t, w in texts:
        if w > room:
            _wrap_to(t, renderer, room)


def _anchored_to_axes(leg, ax) -> bool:
    anchor = leg.get_bbox_to_anchor()
    b = ax.bbox
    return all(abs(getattr(anchor, k) - getattr(b, k)) < 0.5 for k in ("x0", "y0", "x1", "y1"))


def _blanking_formatter(inner, hidden: list[float]):
    """A tick formatter that labels as ``inner`` does, except the tick values ``hidden``."""
    from matplotlib.ticker import Formatter

    hidden_values = np.asarray(hidden, float)

    def is_hidden(x: float) -> bool:
        return bool(np.any(np.isclose(hidden_values, x, rtol=1e-9, atol=0.0)))

    class BlankingFormatter(Formatter):
        def set_axis(self, axis) -> None:
            self.axis = axis
            inner.set_axis(axis)

        def format_ticks(self, values):
            labels = inner.format_ticks(values)
            return ["" if is_hidden(v) else lab for v, lab in zip(values, labels, strict=True)]

        def __call__(self, x, pos=None):
            return "" if is_hidden(x) else inner(x, pos)

    return BlankingFormatter()


def _thin_tick_labels(fig, renderer, pad: float = 1.0) -> bool:
    """Blank the tick labels that overlap one kept before them: major labels in axis order
    (a secondary °C axis crowds at the hot end), then minor labels; True when any was
    blanked."""
    changed = False
    every = [a for ax in fig.axes for a in (ax, *getattr(ax, "child_axes", []))]
    for ax in every:
        for axis in (ax.xaxis, ax.yaxis):
            kept: list = []
            for major, ticks in ((True, axis.get_major_ticks()),
                                 (False, axis.get_minor_ticks())):
                hidden = []
                for tick in ticks:
                    label = tick.label1 if tick.label1.get_visible() else tick.label2
                    if not (label.get_visible() and label.get_text().strip()):
                        continue
                    box = label.get_window_extent(renderer).padded(pad)
                    if any(box.overlaps(k) for k in kept):
                        hidden.append(tick.get_loc())
                    else:
                        kept.append(box)
                if hidden:
                    if major:
                        axis.set_major_formatter(
                            _blanking_formatter(axis.get_major_formatter(), hidden))
                    else:
                        axis.set_minor_formatter(
                            _blanking_formatter(axis.get_minor_formatter(), hidden))
                    changed = True
    return changed


def publish(fig) -> Any:
    """Set ``fig`` to a journal width and fix what would print badly (see the module notes);
    returns the figure."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        try:
            fig.set_layout_engine("constrained")
        except RuntimeError:  # a colorbar made under another engine: keep that engine
            pass
    _set_width(fig)
    _min_font(fig)
    renderer = _renderer(fig)
    _place_legends(fig, renderer)
    renderer = _renderer(fig)
    _wrap_titles(fig, renderer)
    renderer = _renderer(fig)
    _wrap_titles(fig, renderer)  # a second pass after the layout made room for the wraps
    for _ in range(3):  # the layout shrinks the axes a little after each change
        if not _thin_tick_labels(fig, _renderer(fig)):
            break
    return fig


def save_figure(fig, *, dpi: int = DPI, close: bool = True, fix: bool = True
                ) -> dict[str, bytes]:
    """Render a figure for publication and the report.

    Parameters
    ----------
    fig : matplotlib Figure
        The figure (e.g. ``result.plot().figure``).
    dpi : int
        Resolution of the PNG (300 by default: the figure prints at its size).
    close : bool
        Close the figure afterwards (frees its memory in pyplot).
    fix : bool
        Apply :func:`publish` first (journal width, wrapped titles, legends off the data).

    Returns
    -------
    dict
        ``{"png": bytes, "svg": bytes}``.
    """
    import matplotlib.pyplot as plt

    try:
        with style():
            if fix:
                publish(fig)
            out = {}
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": "ionscale"})
            out["png"] = buf.getvalue()
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "ionscale"})
            out["svg"] = buf.getvalue()
    finally:
        if close:
            plt.close(fig)
    return out


def render(result, **plot_kwargs) -> dict[str, bytes] | None:
    """``result.plot()`` drawn in the ionscale style and saved with :func:`save_figure`;
    None when the result has nothing to plot."""
    import matplotlib.pyplot as plt

    with style():
        before = set(plt.get_fignums())
        try:
            ax = result.plot(**plot_kwargs)
        except NotImplementedError:
            for n in set(plt.get_fignums()) - before:
                plt.close(n)
            return None
        if ax is None:
            return None
        return save_figure(figure_of(ax))


def draw_figure(result, **plot_kwargs):
    """``result.plot()`` in the ionscale style, published (:func:`publish`) but not saved:
    the figure, for checks and further editing."""
    with style():
        return publish(figure_of(result.plot(**plot_kwargs)))


def png_size(png: bytes) -> tuple[int, int, float | None]:
    """``(width, height, dpi)`` of PNG bytes (dpi None when the file does not say)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return 0, 0, None
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    dpi = None
    i = png.find(b"pHYs")
    if 0 < i < 200:
        ppu = int.from_bytes(png[i + 4:i + 8], "big")
        if png[i + 12] == 1 and ppu > 0:  # pixels per metre
            dpi = ppu * 0.0254
    return w, h, dpi


def declutter(texts, renderer, *, pad: float = 1.0) -> int:
    """Hide every text of ``texts`` that overlaps one kept before it (e.g. frequency labels
    on a Nyquist plot); returns how many were hidden."""
    kept = []
    hidden = 0
    for t in texts:
        if not t.get_visible():
            continue
        b = t.get_window_extent(renderer).padded(pad)
        if any(b.overlaps(k) for k in kept):
            t.set_visible(False)
            hidden += 1
        else:
            kept.append(b)
    return hidden


def drawn_texts(fig) -> list[tuple[Any, Any]]:
    """Every non-empty text drawn when ``fig`` is rendered at 100 dpi, with its window extent
    (pixels)."""
    from matplotlib.text import Text

    seen: list[tuple[Any, Any]] = []
    original = Text.draw

    def recording_draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            seen.append((self, self.get_window_extent(renderer)))

    Text.draw = recording_draw
    try:
        fig.set_dpi(100)
        fig.canvas.draw()
    finally:
        Text.draw = original
    return seen


def text_problems(fig, tolerance: float = 1.0) -> list[str]:
    """Texts of ``fig`` that cross its edge, and pairs that overlap, by more than
    ``tolerance`` pixels at 100 dpi: one line each (empty when the figure prints cleanly)."""
    texts = drawn_texts(fig)
    W, H = fig.bbox.width, fig.bbox.height
    problems = []
    for t, b in texts:
        if b.x0 < -tolerance or b.y0 < -tolerance or b.x1 > W + tolerance or \
                b.y1 > H + tolerance:
            problems.append(f"clipped: {t.get_text()!r} at {np.round(b.extents, 1)} "
                            f"(figure {W:.0f}×{H:.0f})")
    for i, (t1, b1) in enumerate(texts):
        for t2, b2 in texts[i + 1:]:
            if t1 is t2:
                continue
            dx = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
            dy = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
            if dx > tolerance and dy > tolerance:
                problems.append(f"overlap: {t1.get_text()!r} and {t2.get_text()!r} "
                                f"({dx:.1f}×{dy:.1f} px)")
    return problems


__all__ = ["DOUBLE", "DPI", "MIN_FONT", "ONE_HALF", "RC", "SINGLE", "WIDTHS", "declutter",
           "draw_figure", "drawn_texts", "figure_of", "figure_size", "journal_width",
           "new_axes", "new_figure", "png_size", "publish", "render", "save_figure", "style",
           "text_problems"]

