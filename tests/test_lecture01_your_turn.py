"""utils.your_turn (the in-lecture exercises of lectures 1-3) and utils.interactive (lecture 3's slider)."""

import matplotlib
import matplotlib.pyplot as plt
import pytest

from utils import interactive
from utils.your_turn import your_turn

matplotlib.use("Agg")


def _stub():
    """A stub as a notebook cell defines it: raised from ``__main__``, its line readable (IPython caches cells)."""
    import linecache
    source = "def stub():\n    raise NotImplementedError()\n"
    linecache.cache["<stub cell>"] = (len(source), None, source.splitlines(True), "<stub cell>")
    namespace = {"__name__": "__main__"}
    exec(compile(source, "<stub cell>", "exec"), namespace)
    return namespace["stub"]()


def test_an_untouched_stub_prints_one_line_and_does_not_raise(capsys):
    with your_turn("1 · demo") as ex:
        ex.close("the answer", _stub, expected=1.0)
    out = capsys.readouterr().out
    assert "not attempted yet" in out and out.count("\n") == 1


def test_a_wrong_answer_prints_the_mistake_and_does_not_raise(capsys):
    with your_turn("1 · demo") as ex:
        ex.close("the answer", lambda: 2.0, expected=1.0, mistakes={"doubled it": lambda e: 2 * e})
    out = capsys.readouterr().out
    assert "✗ the answer" in out and "Likely mistake: doubled it" in out and "Not yet" in out


def test_a_right_answer_passes(capsys):
    with your_turn("1 · demo") as ex:
        ex.close("the answer", lambda: 1.0, expected=1.0)
    out = capsys.readouterr().out
    assert "✓ the answer" in out and "The check passed." in out


def test_a_bug_in_the_check_itself_is_not_swallowed():
    with pytest.raises(ZeroDivisionError):
        with your_turn("1 · demo"):
            1 / 0


def test_headless_slider_draws_one_panel_per_static_value(monkeypatch):
    monkeypatch.setenv("COURSE_PLAIN_PROGRESS", "1")
    drawn = []
    plt.close("all")
    result = interactive.slider_or_static(lambda value, ax: (drawn.append(value), ax.set_title(str(value))),
                                          values=[1, 2, 3], static=[1, 3], title="demo")
    assert result is None and drawn == [1, 3]
    assert [ax.get_title() for ax in plt.gcf().axes] == ["1", "3"]


def test_with_a_widget_frontend_it_is_a_slider(monkeypatch):
    monkeypatch.delenv("COURSE_PLAIN_PROGRESS", raising=False)
    assert interactive.widgets_drawn()
    widget = interactive.slider_or_static(lambda value, ax: None, values=[1, 2, 3], static=[2])
    assert widget is not None and widget.widget.children[0].options == (1, 2, 3)
