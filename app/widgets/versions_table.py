"""The versions table: Textual's Line API over the index, so 1,000,000 versions cost the same
as 100. Rows are fetched a page at a time in a worker thread and rendered from a cache;
the header stays put while the rows scroll."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from modelyard.app.safe_text import fmt_number, human_size, printable
from modelyard.store import Store

PAGE = 200
FIXED_COLUMNS = ("ref", "aliases", "flags")
TAIL_COLUMNS = ("user", "created", "size", "format")
TITLES = {"ref": "VERSION", "aliases": "ALIASES", "user": "USER", "created": "CREATED",
          "size": "SIZE", "format": "FORMAT", "flags": "FLAGS"}
WIDTHS = {"ref": 24, "aliases": 16, "user": 9, "created": 16, "size": 9, "format": 11,
          "flags": 15}
SORT_CLAUSE = {"ref": "model, version desc", "aliases": "model, version desc",
               "user": "user", "created": "created", "size": "size", "format": "format",
               "flags": "deprecated"}
FLAGGED = ("(is:deprecated or is:pickle or policy:failing or policy:warning "
           "or policy:violation)")  # what FLAGS shows, as far as a query can ask
KEEP_SCAN_PAGES = 10  # after a sort, look this far for the row the cursor was on


@dataclass
class Row:
    ref: str
    cells: dict[str, str]
    deprecated: bool = False
    pickle: bool = False  # a warning flag: pickle, failing policy or violation, mixed script


@dataclass
class Page:
    rows: list[Row] = field(default_factory=list)


def row_of(version, corrupt: frozenset[str] = frozenset(),
           param_keys: tuple[str, ...] = ()) -> Row:
    """Everything a row shows, computed in the worker thread (never in render_line)."""
    metrics = version.metrics
    flags = ["CORRUPT"] if version.ref in corrupt else []
    if version.deprecated:
        flags.append("depr")
    if version.has_pickle:
        flags.append("pickle")
    policy = version.policy_state
    if policy in ("failing", "warning", "violation"):
        # violation: an alias was moved onto it past its gate (policy/violations.py)
        flags.append({"failing": "✗policy", "warning": "~policy",
                      "violation": "✗violation"}[policy])
    if version.mixed_script:
        flags.append("mixed-script")  # its model name mixes look-alike scripts
    cells = {"ref": printable(version.ref),
             "aliases": printable(" ".join("@" + a for a in version.aliases)),
             "user": printable(version.user),
             "created": version.created_at[:16].replace("T", " "),
             "size": human_size(version.size), "format": printable(version.format),
             "flags": " ".join(flags)}
    for key, value in metrics.items():
        cells[f"metric:{key}"] = fmt_number(value)
    if param_keys:
        from modelyard.store.versions.card import flatten_params

        params = flatten_params(version.params or {})
        for key in param_keys:
            if key in params:
                value = params[key]
                cells[f"param:{key}"] = fmt_number(value) if isinstance(
                    value, int | float) and not isinstance(value, bool) else printable(
                    str(value))
    return Row(version.ref, cells, version.deprecated,
               version.has_pickle or policy in ("failing", "violation")
               or version.mixed_script or version.ref in corrupt)


class VersionsTable(ScrollView, can_focus=True):
    """A lazily loaded, sortable table of versions with a cursor and marks."""

    COMPONENT_CLASSES = {"versions-table--header", "versions-table--cursor",
                         "versions-table--marked", "versions-table--dim",
                         "versions-table--warning", "versions-table--sorted"}
    DEFAULT_CSS = """
    VersionsTable { height: 1fr; }
    VersionsTable > .versions-table--header { text-style: bold; background: $panel; }
    VersionsTable > .versions-table--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; text-style: bold; }
    VersionsTable:blur > .versions-table--cursor { background: $block-cursor-blurred-background;
        text-style: none; }
    VersionsTable > .versions-table--marked { color: $accent; text-style: bold; }
    VersionsTable > .versions-table--dim { color: $text-muted; }
    VersionsTable > .versions-table--warning { color: $warning; }
    VersionsTable > .versions-table--sorted { color: $accent; text-style: bold underline; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "open", "Open"),
        Binding("space", "mark", "Mark"),
        Binding("s", "sort_next", "Sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False),
    ]

    cursor: reactive[int] = reactive(0)

    class Opened(Message):
        """Enter on a row: open that version's card."""

        def __init__(self, ref: str) -> None:
            super().__init__()
            self.ref = ref

    class Highlighted(Message):
        """The cursor moved to another version."""

        def __init__(self, ref: str | None) -> None:
            super().__init__()
            self.ref = ref

    class MarksChanged(Message):
        """The set of marked versions changed."""

        def __init__(self, marks: list[str]) -> None:
            super().__init__()
            self.marks = marks

    class Loaded(Message):
        """A new query's first page arrived (or failed)."""

        def __init__(self, total: int) -> None:
            super().__init__()
            self.total = total

    def __init__(self, store: Store, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.query_text = ""
        self.model: str | None = None
        self.metric_columns: list[str] = []
        self.param_columns: list[str] = []  # dotted keys, beside the metric columns
        self.sort_column = "created"
        self.sort_desc = True
        self.total = 0
        self.counting = False  # total is a lower bound until the count arrives
        self.marks: list[str] = []
        self.ref_width = WIDTHS["ref"]
        self._pages: dict[int, Page] = {}
        self._pending: set[int] = set()
        self._generation = 0
        self._searching: dict[int, int] = {}  # generation -> thread running its first page
        self._keep_ref: str | None = None

    # columns
    @property
    def columns(self) -> list[str]:
        return [*FIXED_COLUMNS, *(f"metric:{m}" for m in self.metric_columns),
                *(f"param:{p}" for p in self.param_columns), *TAIL_COLUMNS]

    def _title(self, col: str) -> str:
        title = printable(col.partition(":")[2]) if col.startswith(("metric:", "param:")) \
            else TITLES[col]
        if col == self.sort_column:
            title += " ▼" if self.sort_desc else " ▲"
        return title

    def _width(self, col: str) -> int:
        if col == "ref":
            return self.ref_width
        if col.startswith(("metric:", "param:")):
            return max(9, min(16, len(col.partition(":")[2]) + 2))
        return WIDTHS[col]

    def order_clause(self) -> str:
        if self.sort_column.startswith("metric:"):
            key = self.sort_column[7:].replace("`", "")
            return f"metrics.`{key}` {'desc' if self.sort_desc else 'asc'}"
        if self.sort_column.startswith("param:"):
            key = self.sort_column[6:].replace("`", "")
            return f"params.`{key}` {'desc' if self.sort_desc else 'asc'}"
        clause = SORT_CLAUSE[self.sort_column]
        if self.sort_column in ("ref", "aliases"):
            return "model desc, version" if self.sort_desc else clause
        return f"{clause} {'desc' if self.sort_desc else 'asc'}"

    # loading
    def load(self, query: str, total: int | None = None, *, keep_ref: str | None = None
             ) -> None:
        """Show a new result set. With `total` known (a re-sort, a reload) the rows are
        re-fetched around the cursor; without it (a new query) the first page is fetched
        first and shown as soon as it arrives, while the old rows stay on screen, and the
        count follows: on a big store counting costs more than the page itself."""
        self._generation += 1
        self.query_text = query
        self._pending.clear()
        self._keep_ref = keep_ref
        for thread_id in list(self._searching.values()):  # typed over: stop, not wait
            self.store.interrupt(thread_id)
        if total is None:
            self.counting = True
            self._pending.add(0)
            self._fetch(0, self._generation, self.effective_query(), count=True)
            return
        self.counting = False
        self._reset(total)
        if keep_ref is None:
            self.cursor = 0
            self.scroll_to(y=0, animate=False)
        self.cursor = min(self.cursor, max(0, total - 1))
        # the kept row may be anywhere in the new order: look for it from the top
        self._request(0 if keep_ref is not None else self.cursor // PAGE)
        self.refresh()

    def _reset(self, total: int) -> None:
        self.total = total
        self._pages.clear()
        self.virtual_size = Size(self._line_width(), total + 1)

    def _line_width(self) -> int:
        return sum(self._width(c) + 1 for c in self.columns) + 2

    def set_ref_width(self, width: int) -> None:
        """Fit the version column to the longest model name (known once models are read)."""
        if width != self.ref_width:
            self.ref_width = width
            self.virtual_size = Size(self._line_width(), self.virtual_size.height)
            self.refresh()

    def _has_order(self) -> bool:
        from modelyard.store.query import parse

        try:
            return bool(parse(self.query_text).order)
        except Exception:
            return False

    def effective_query(self) -> str:
        text = self.query_text
        return text if self._has_order() else f"{text} order by {self.order_clause()}".strip()

    def _search(self, query: str, limit: int, offset: int) -> list:
        """One page of rows. Sorted by ALIASES or FLAGS, the versions that have some come
        first (or last, reversed): the query language cannot order by them, so this reads
        two queries, one after the other, each in model and version order."""
        split = None if self._has_order() else self._partition()
        if split is None:
            return self.store.search(query, limit=limit, offset=offset, model=self.model)
        having, order = split
        base = self.query_text.strip()
        first, then = (having, f"not {having}") if self.sort_desc else \
            (f"not {having}", having)
        parts = [f"({base}) and {first}" if base else first,
                 f"({base}) and {then}" if base else then]
        head = self.store.count(parts[0], model=self.model)
        rows = []
        if offset < head:
            rows = self.store.search(f"{parts[0]} order by {order}", limit=limit,
                                     offset=offset, model=self.model)
        if len(rows) < limit:
            rows += self.store.search(f"{parts[1]} order by {order}", limit=limit - len(rows),
                                      offset=max(0, offset - head), model=self.model)
        return rows

    def _partition(self) -> tuple[str, str] | None:
        """For ALIASES and FLAGS: the condition a row has some, and the order inside."""
        if self.sort_column == "aliases":
            return "has:alias", SORT_CLAUSE["ref"]
        if self.sort_column == "flags":
            return FLAGGED, f"deprecated desc, pickle desc, {SORT_CLAUSE['ref']}"
        return None

    def _request(self, page: int) -> None:
        if page in self._pages or page in self._pending or page * PAGE >= max(self.total, 1):
            return
        self._pending.add(page)
        self._fetch(page, self._generation, self.effective_query())

    @work(thread=True, group="versions-pages")
    def _fetch(self, page: int, generation: int, query: str, count: bool = False) -> None:
        if not count:
            self._fetch_page(page, generation, query)
            return
        self._searching[generation] = threading.get_ident()
        try:
            self._fetch_page(page, generation, query, count=True)
        except Exception as exc:  # the search bar checks queries first; this is the rest
            if generation == self._generation:  # else interrupted: typed over
                self.app.call_from_thread(self.notify, printable(str(exc)),
                                          severity="error", markup=False)
        finally:
            self._searching.pop(generation, None)

    def _fetch_page(self, page: int, generation: int, query: str, count: bool = False) -> None:
        versions = self._search(query, PAGE, page * PAGE)
        if generation != self._generation:
            return  # a newer query or sort replaced this one while it ran
        from modelyard.store.check.integrity import corrupt_refs

        corrupt = frozenset(corrupt_refs(self.store.index))
        params = tuple(self.param_columns)
        rows = [row_of(v, corrupt, params) for v in versions]
        if not count:
            self.app.call_from_thread(self._arrived, page, generation, rows)
            return
        complete = len(rows) < PAGE  # the first page holds every match: nothing to count
        self.app.call_from_thread(self._first_arrived, generation, rows, complete)
        if not complete and generation == self._generation:
            total = self.store.count(query, model=self.model)
            self.app.call_from_thread(self._counted, generation, total)

    def _first_arrived(self, generation: int, rows: list[Row], complete: bool) -> None:
        """A new query's first page: replaces what was shown; the count may follow."""
        if generation != self._generation:
            return
        self.counting = not complete
        self._reset(len(rows))
        self.cursor = 0
        self.scroll_to(y=0, animate=False)
        self._arrived(0, generation, rows)

    def _counted(self, generation: int, total: int) -> None:
        if generation != self._generation:
            return
        self.counting = False
        self.total = total
        self.virtual_size = Size(self.virtual_size.width, total + 1)
        self.post_message(self.Loaded(total))
        self.refresh()

    def _arrived(self, page: int, generation: int, rows: list[Row]) -> None:
        if generation != self._generation:
            return
        self._pending.discard(page)
        self._pages[page] = Page(rows)
        if self._keep_ref is not None:
            for i, row in enumerate(rows):
                if row.ref == self._keep_ref:
                    self.cursor = page * PAGE + i
                    self._keep_ref = None
                    break
            else:
                if page * PAGE + len(rows) < self.total and page < KEEP_SCAN_PAGES:
                    self._request(page + 1)
                else:
                    self._keep_ref = None
        if page == 0:
            self.post_message(self.Loaded(self.total))
        self._keep_cursor_visible()
        self.post_message(self.Highlighted(self.current_ref))
        self.refresh()

    def row(self, index: int) -> Row | None:
        page = self._pages.get(index // PAGE)
        if page is None:
            self._request(index // PAGE)
            return None
        if index % PAGE >= PAGE // 4:  # past a quarter of this page: fetch the next one now
            self._request(index // PAGE + 1)
        offset = index % PAGE
        return page.rows[offset] if offset < len(page.rows) else None

    @property
    def current_ref(self) -> str | None:
        """The version under the cursor; while a sort re-reads the rows, the one it was on
        (a, t, e pressed right after s act on it)."""
        row = self.row(self.cursor) if self.total else None
        return row.ref if row else self._keep_ref

    # rendering
    def render_line(self, y: int) -> Strip:
        # Every segment carries a style: Textual's NO_COLOR filter fails on a None style.
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._scrolled(self._header_strip(), scroll_x, width)
        index = scroll_y + y - 1
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.row(index)
        return self._scrolled(self._row_strip(index, row), scroll_x, width)

    @property
    def frozen_width(self) -> int:
        """The mark and VERSION column stay put when the table scrolls right (at 80 columns
        the rest is wider than the pane, and scrolling lost which version a row was)."""
        return 2 + self.ref_width + 1

    def _scrolled(self, strip: Strip, scroll_x: int, width: int) -> Strip:
        frozen = min(self.frozen_width, width)
        base = self.rich_style
        left = strip.crop_extend(0, frozen, base)
        right = strip.crop_extend(frozen + scroll_x, scroll_x + width, base)
        return Strip.join([left, right])

    def _header_strip(self) -> Strip:
        base = self.get_component_rich_style("versions-table--header")
        sorted_style = base + self.get_component_rich_style("versions-table--sorted")
        segments = [Segment("  ", base)]
        for col in self.columns:
            text = self._fit(self._title(col), self._width(col))
            segments.append(Segment(text + " ", sorted_style if col == self.sort_column else base))
        return Strip(segments)

    def _fit(self, text: str, width: int) -> str:
        return text[: width - 1] + "…" if len(text) > width else text.ljust(width)

    def _row_strip(self, index: int, row: Row | None) -> Strip:
        base = self.rich_style
        if row is None:
            return Strip([Segment("  …loading", base + self.get_component_rich_style(
                "versions-table--dim"))])
        style: Style = base
        if row.deprecated:
            style = style + self.get_component_rich_style("versions-table--dim")
        marked = row.ref in self.marks
        if marked:
            style = style + self.get_component_rich_style("versions-table--marked")
        if index == self.cursor:
            style = style + self.get_component_rich_style("versions-table--cursor")
        segments = [Segment("● " if marked else "  ", style)]
        for col in self.columns:
            cell_style = style
            if col == "flags" and row.pickle and index != self.cursor:
                cell_style = style + self.get_component_rich_style("versions-table--warning")
            missing = "-" if col.startswith(("metric:", "param:")) else ""
            text = self._fit(row.cells.get(col, missing),
                             self._width(col))
            segments.append(Segment(text + " ", cell_style))
        return Strip(segments)

    # cursor and actions
    def watch_cursor(self, old: int, new: int) -> None:
        self._keep_cursor_visible()
        if old != new:
            self.post_message(self.Highlighted(self.current_ref))
        self.refresh()

    @property
    def rows_visible(self) -> int:
        """Rows on screen below the header, above the horizontal scrollbar if it shows
        (`size` counts the scrollbar's line: the cursor hid under it)."""
        return max(1, self.scrollable_content_region.height - 1)

    def _keep_cursor_visible(self) -> None:
        visible = self.rows_visible
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.rows_visible - 1))

    def action_jump(self, where: int) -> None:
        if self.total:
            self.cursor = 0 if where == 0 else self.total - 1

    def action_open(self) -> None:
        if self.current_ref:
            self.post_message(self.Opened(self.current_ref))

    def action_mark(self) -> None:
        ref = self.current_ref
        if ref is None:
            return
        if ref in self.marks:
            self.marks.remove(ref)
        else:
            self.marks.append(ref)
        self.post_message(self.MarksChanged(list(self.marks)))
        self.action_cursor(1)
        self.refresh()

    def action_sort_next(self) -> None:
        cols = self.columns
        nxt = cols[(cols.index(self.sort_column) + 1) % len(cols)] \
            if self.sort_column in cols else cols[0]
        self.sort_by(nxt)

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort_column, desc=not self.sort_desc)

    def sort_by(self, column: str, *, desc: bool | None = None) -> None:
        if desc is None:
            desc = column.startswith("metric:") or column in ("created", "size")
        self.sort_column, self.sort_desc = column, desc
        self.load(self.query_text, None if self.counting else self.total,
                  keep_ref=self.current_ref)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = event.x - 2 + (int(self.scroll_offset.x) if event.x >= self.frozen_width
                               else 0)
            for col in self.columns:
                w = self._width(col) + 1
                if 0 <= x < w:
                    if col == self.sort_column:
                        self.action_sort_reverse()
                    else:
                        self.sort_by(col)
                    return
                x -= w
            return
        index = int(self.scroll_offset.y) + event.y - 1
        if 0 <= index < self.total:
            if index == self.cursor and event.chain >= 2:
                self.action_open()
            self.cursor = index
