"""The dearest single operations a mail template can run on values at the sandbox's limits.

The render deadline is looked at between operations, never inside one, so what matters
is how long one operation can take. Each row renders a template that first builds values
just within the limits (not timed), then repeats one operation on them: the figure is the
median time of that operation. The hostile rows time a refusal from start to error.

    .venv/bin/python bench/sandbox_limits.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp.models import Lead
from webapp.services.mail.rendering import RenderError, StepDraft, render_step

# Two equal values built apart, each at the limit: 10,000 items in all, or 256 K characters.
SETUP = (
    "{% set a = (range(1000)|list) * 9 %}{% set b = (range(1000)|list) * 9 %}"
    "{% set na = [range(99)|list] * 99 %}{% set nb = [range(99)|list] * 99 %}"
    "{% set s = 'ab ' * 87000 %}{% set t = 'ab ' * 87000 %}"
    "{% set words = ['ab'] * 9000 %}{% set w = 'ab ' * 5400 %}"
)
OPERATIONS = {
    "compare lists, 9,000 numbers": "{{ a == b }}",
    "compare nested lists, 99 x 99": "{{ na == nb }}",
    "order nested lists": "{{ na < nb }}",
    "in, nested": "{{ nb[0] in na }}",
    "sort 9,000 numbers": "{{ a|sort|length }}",
    "unique 9,000 numbers": "{{ a|unique|list|length }}",
    "sum of 99 lists": "{{ na|sum(start=[])|length }}",
    "list as text": "{{ na|string|length }}",
    "join 9,000 words": "{{ words|join(' ')|length }}",
    "compare strings, 261 K": "{{ s == t }}",
    "title, 16 K": "{{ w|title|length }}",
    "wordwrap, 16 K": "{{ w|wordwrap(40)|length }}",
    "urlize, 16 K": "{{ w|urlize|length }}",
    "striptags, 261 K": "{{ s|striptags|length }}",
    "replace, 261 K": "{{ s|replace('a', 'b')|length }}",
    "upper, 261 K": "{{ s|upper|length }}",
}
HOSTILE = {
    "sum of [l] * 3000": "{% set l = range(1000)|list %}{{ ([l] * 3000)|sum(start=[]) }}",
    "map center 100000": "{{ range(1000)|map('center', 100000)|list|length }}",
    "doubling macro": "{% macro f(x, y, n) %}{% if n %}{{ f([x, x], [y, y], n - 1) }}"
    "{% else %}{{ x == y }}{% endif %}{% endmacro %}{{ f([1], [1], 40) }}",
}


def render(body: str, refused: bool = False) -> float:
    """Seconds to render `body`; it must render, or be refused when `refused`."""
    lead = Lead(email="info@bakkerij-jansen.nl", company="Bakkerij Jansen", vars={})
    started = time.perf_counter()
    try:
        render_step(StepDraft(1, "Hoi", "", body), lead, sender="C", unsubscribe_url="https://x")
    except RenderError as error:
        if not refused or "too much work" not in error.message:
            raise
    else:
        if refused:
            raise AssertionError("rendered, though it should have been refused")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"{'operation':34} {'one op (ms)':>12}")
    for name, operation in OPERATIONS.items():
        # The setup alone, then the setup with the operation three times: the difference
        # over three is one operation.
        base = statistics.median(render(SETUP) for _ in range(args.runs))
        body = SETUP + operation * 3
        full = statistics.median(render(body) for _ in range(args.runs))
        print(f"{name:34} {max(full - base, 0) / 3 * 1000:12.2f}")
    print(f"\n{'refused payload':34} {'to error (ms)':>12}")
    for name, body in HOSTILE.items():
        refusal = statistics.median(render(body, refused=True) for _ in range(args.runs))
        print(f"{name:34} {refusal * 1000:12.2f}")


if __name__ == "__main__":
    main()
