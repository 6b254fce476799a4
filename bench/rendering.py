"""Rendering the demo template for the demo leads: the sandboxed service against plain Jinja.

Baseline, in the same run: the same four steps rendered by an ordinary `jinja2.Environment`
(no sandbox, no limits, no text part made from the HTML, no unsubscribe line). The sender
renders one mail per message, so the figure that matters is time per mail.

    .venv/bin/python bench/rendering.py [--runs 5] [--leads 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jinja2

from webapp.database import utcnow
from webapp.demo.seed import demo_leads, template_steps
from webapp.models import Lead
from webapp.services.mail.rendering import (
    RenderError,
    StepDraft,
    lead_context,
    render_step,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--leads", type=int, default=1000)
    args = parser.parse_args()

    rows, _ = demo_leads(utcnow())
    leads = [
        Lead(**{k: row[k] for k in ("email", "company", "url", "domain", "vars")})
        for row in rows
        if row["company"] and row["url"]
    ][: args.leads]
    steps = [StepDraft(**step) for step in template_steps()]

    plain = jinja2.Environment(autoescape=True)
    plain_text = jinja2.Environment(autoescape=False)
    compiled = [
        (
            plain_text.from_string(s.subject),
            plain.from_string(s.body_html),
            plain_text.from_string(s.body_text),
        )
        for s in steps
    ]

    def baseline() -> None:
        for lead in leads:
            context = lead_context(lead) | {"sender": "Christian", "unsubscribe_url": "https://x/u"}
            for subject, html, text in compiled:
                subject.render(context), html.render(context), text.render(context)

    failures = 0

    def service() -> None:
        nonlocal failures
        for lead in leads:
            for step in steps:
                try:
                    render_step(step, lead, sender="Christian", unsubscribe_url="https://x/u",
                                subject_fallback="Re: x")  # fmt: skip
                except RenderError:
                    failures += 1

    def text_from_html() -> None:
        for lead in leads:
            for step in steps:
                render_step(StepDraft(step.mail_number, "x", step.body_html, ""), lead,
                            sender="Christian", unsubscribe_url="https://x/u")  # fmt: skip

    mails = len(leads) * len(steps)
    results = {}
    for name, run in (("plain Jinja (baseline)", baseline), ("render_step", service),
                      ("render_step, text made from HTML", text_from_html)):  # fmt: skip
        run()  # warm the compile cache
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        results[name] = statistics.median(times)

    base = results["plain Jinja (baseline)"]
    print(
        f"{len(leads)} demo leads x {len(steps)} mails = {mails} mails, median of {args.runs} runs"
    )
    print(f"{'case':36} {'total s':>8} {'us/mail':>8} {'x base':>7}")
    for name, seconds in results.items():
        print(f"{name:36} {seconds:8.3f} {seconds / mails * 1e6:8.0f} {seconds / base:7.2f}")
    print(f"render errors: {failures}")


if __name__ == "__main__":
    main()
