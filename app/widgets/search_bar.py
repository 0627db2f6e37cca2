"""The search bar: the store's query language with key completion and an inline error that
points at the column where the query went wrong."""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.timer import Timer
from textual.widgets import Input, Static

from modelyard.app.safe_text import printable
from modelyard.app.search_history import SearchHistory
from modelyard.store.errors import QueryError

STALE = "invalid query: the results below are for the last valid one"
EXPLAIN_S = 0.4  # a pause this long after an invalid query shows what is wrong with it

_LAST_TOKEN = re.compile(r"[^\s()]*$")


class QuerySuggester(Suggester):
    """Completes the word being typed: field prefixes, metric/param/tag keys, aliases and
    model names. Vocabulary comes from the index and is refreshed by the screen."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.words: list[str] = []

    def set_vocabulary(self, *, metrics: list[str], params: list[str], tags: list[str],
                       aliases: list[str], models: list[str]) -> None:
        from modelyard.store.query import FIELD_PREFIXES

        words = list(FIELD_PREFIXES)
        words += [f"metrics.{_quote(k)}" for k in metrics]
        words += [f"params.{_quote(k)}" for k in params]
        words += [f"tags.{_quote(k)}" for k in tags]
        words += [f"@{a}" for a in aliases]
        words += [f"model:{_quote(m)}" for m in models]
        words += ["order by ", "and ", "or ", "not "]
        self.words = words

    async def get_suggestion(self, value: str) -> str | None:
        found = _LAST_TOKEN.search(value)  # always matches, maybe empty
        token = found.group(0) if found else ""
        if not token:
            return None
        for word in self.words:
            if word.startswith(token) and word != token:
                return value + word[len(token):]
        return None


def _quote(key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./-]+", key):
        return key
    return "`" + key.replace("`", "") + "`"


_MODEL_FILTER = re.compile(r'(?<!\S)model:("[^"]*"|`[^`]*`|\S+)\s*')


def with_model(query: str, model: str | None) -> str:
    """`query` filtered to one model (None: to every model): the model list writes its
    choice into the search bar as `model:NAME`, one filter the person can read and edit."""
    rest = _MODEL_FILTER.sub("", query).strip()
    if model is None:
        return rest
    name = model if re.fullmatch(r"[A-Za-z0-9_./-]+", model) else '"' + model + '"'
    return f"model:{name} {rest}".strip()


class SearchBar(Vertical):
    """An Input plus a one-line error under it."""

    DEFAULT_CSS = """
    SearchBar { height: auto; }
    SearchBar > Input { border: tall $border-blurred; }
    SearchBar > Input:focus { border: tall $border; }
    SearchBar > #query-error { height: auto; color: $error; display: none; padding: 0 1; }
    SearchBar.-explain > #query-error { display: block; }
    SearchBar.-invalid > Input { border: tall $error; }
    """

    BINDINGS = [Binding("up", "history(-1)", "Older search", show=False),
                Binding("down", "history(1)", "Newer search", show=False)]

    class Submitted(Message):
        """A valid query was typed (debounced) or submitted with enter."""

        def __init__(self, query: str, final: bool) -> None:
            super().__init__()
            self.query = query
            self.final = final

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.suggester = QuerySuggester()
        self._timer: Timer | None = None
        self.shown = ""  # the query whose results the table shows
        self.history = SearchHistory(None)  # the screen gives it the store's file

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search: words, metrics.auc > 0.9, @champion, user:alice, "
                                "order by metrics.auc desc   (/ to focus)",
                    suggester=self.suggester, id="query")
        yield Static("", id="query-error")

    @property
    def input(self) -> Input:
        return self.query_one("#query", Input)

    def check(self, text: str) -> bool:
        """Parse `text`; show the error with a caret, or clear it."""
        from modelyard.store.query import parse

        error = self.query_one("#query-error", Static)
        try:
            parse(text)
        except QueryError as exc:
            caret = Text()
            caret.append(printable(exc.message) + f" (column {exc.position + 1})\n")
            caret.append(printable(text[: exc.position + 40]) + "\n", style="dim")
            caret.append("─" * exc.position + "^")  # leading spaces would be trimmed
            error.update(caret)
            self.add_class("-invalid")
            # in words, not only in red: the rows below did not change with the query
            self.input.border_subtitle = STALE
            return False
        self.remove_class("-invalid", "-explain")
        self.input.border_subtitle = ""
        error.update("")
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        """A valid query searches after a 35 ms pause in typing; an invalid one turns the
        border red at once and explains itself after EXPLAIN_S (or on enter): half-typed
        queries are invalid at most keystrokes, and an explanation popping in and out
        would make the table below jump on each of them."""
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        if self.check(event.value):
            value = event.value
            self._timer = self.set_timer(0.035, lambda: self._submit(value, final=False))
        else:
            self._timer = self.set_timer(EXPLAIN_S, lambda: self.add_class("-explain"))

    def action_history(self, step: int) -> None:
        """Up: the previous query run on this store; down: the next one (past the newest,
        an empty bar)."""
        query = self.history.older() if step < 0 else self.history.newer()
        if query is not None:
            self.input.value = query
            self.input.cursor_position = len(query)

    def _submit(self, value: str, *, final: bool) -> None:
        if final:
            self.history.add(value)
        self.shown = value
        self.post_message(self.Submitted(value, final=final))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        if self.check(event.value):
            self._submit(event.value, final=True)
        else:
            self.add_class("-explain")
