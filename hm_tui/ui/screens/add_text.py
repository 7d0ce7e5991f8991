"""What the add-VINs dialog says: the preview (counts and every problem, grouped), the Add button,
progress and the results' heading. Pure functions of a preview or results: no widgets, no IO.

Untrusted text (a CSV's cells, the platform's descriptions) is made inert here; the dialog
renders it with markup off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.content import Content

from hm_tui.domain.brands import VW_CUSTOMER_TAG
from hm_tui.service.files.pasted import ImportPreview, Problem, check_item, parse_tags
from hm_tui.service.models import NO_ANSWER, NOT_SENT
from hm_tui.ui.format import safe_text

NO_ANSWER_MEANS = f"{NO_ANSWER}: the platform may still have added it; adding it again is safe"
STOPPING = "Stopping: recording what was sent…"
ONE_NO_BRAND = "no brand: choose the VIN's brand in the Brand list"
#: The brand list's label and prompt on each tab: the VIN's brand, or the default for lines
#: and rows that give none.
BRAND_LABELS = {"add-one": "Brand", "add-paste": "Default brand", "add-csv": "Default brand"}
BRAND_PROMPTS = {
    "add-one": "Brand",
    "add-paste": "Brand (default for lines without one)",
    "add-csv": "Brand (default for rows without one)",
}


def count(n: int, word: str) -> str:
    """`1 VIN`, `2 VINs`, `1 error`, `0 errors`."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def preview_one(vin: str, brand: str | None, tags_text: str, vw_customer: str) -> ImportPreview:
    """The single-VIN form as a preview (same rules as pasted lines and CSV)."""
    if not vin.strip():  # nothing typed yet: no errors to shout about
        return ImportPreview()
    tags, tag_errors = parse_tags(tags_text.split(","))
    item, errors, warnings = check_item(
        vin, brand, tags, vw_customer=vw_customer, no_brand=ONE_NO_BRAND
    )
    errors = [*tag_errors, *errors]
    return ImportPreview(
        items=[item] if item and not errors else [],
        errors=[Problem(0, e) for e in errors],
        warnings=[Problem(0, w) for w in warnings],
    )


def summary(preview: ImportPreview) -> str:
    """`3 to add · 3 lines skipped (5 errors) · 300 warnings`."""
    parts = [f"{len(preview.items)} to add"]
    skipped, errors = preview.rows_skipped, len(preview.errors)
    if skipped:
        parts.append(f"{count(skipped, 'line')} skipped ({count(errors, 'error')})")
    elif errors:
        parts.append(count(errors, "error"))
    if preview.warnings:
        parts.append(count(len(preview.warnings), "warning"))
    return " · ".join(parts)


#: What the preview says while a tab has nothing to preview yet.
EMPTY_PROMPTS = {
    "add-one": "type a VIN and choose its brand",
    "add-paste": "paste or type VIN lines",
    "add-csv": "type the CSV file's path and press Enter",
}


def preview_content(preview: ImportPreview, *, prompt: str = EMPTY_PROMPTS["add-one"]) -> Content:
    """The counts, then every problem, grouped (errors by line, VW Group rows without the
    customer name, duplicates, check digits, the rest); `prompt` while there is nothing yet.
    The dialog's body scrolls: nothing is left out as "… and N more"."""
    if not (preview.items or preview.errors or preview.warnings):
        return Content.assemble(("Preview: ", "bold"), prompt)
    lines = [Content.assemble(("Preview: ", "bold"), summary(preview))]
    if preview.errors:
        lines.append(_heading("✗ ", f"Errors ({len(preview.errors)}): not sent", "$error"))
        lines += [_problem_line(p) for p in sorted(preview.errors, key=lambda p: p.line)]
    groups: dict[str, list[Problem]] = {name: [] for name in WARNING_GROUPS}
    for problem in preview.warnings:
        groups[_group_of(problem.message)].append(problem)
    for name, problems in groups.items():
        if problems:
            lines.append(_heading("! ", f"{WARNING_GROUPS[name]} ({len(problems)})", "$warning"))
            shown = problems[:SHOWN_DIGIT_WARNINGS] if name == "check" else problems
            lines += [_problem_line(p) for p in shown]
            if len(shown) < len(problems):  # the same doubt, row after row: summed up
                more = len(problems) - len(shown)
                lines.append(
                    Content(
                        f"  … and {more} more row{'s' if more != 1 else ''} with a check-digit "
                        "warning (the same note)"
                    )
                )
    return Content("\n").join(lines)


#: Check-digit warnings listed before the rest are summed up (as `hm-tui vins add` does).
SHOWN_DIGIT_WARNINGS = 5


#: Warning groups of the preview, in order, with their headings.
WARNING_GROUPS = {
    "vw": f"VW Group rows without {VW_CUSTOMER_TAG}: fill VW customer above to tag them",
    "duplicate": "Duplicates: each VIN is sent once",
    "check": "Check digits: a warning only (many European VINs fail it)",
    "other": "Other warnings",
}


def _group_of(message: str) -> str:
    if VW_CUSTOMER_TAG in message:
        return "vw"
    if "is also on line" in message:
        return "duplicate"
    return "check" if "check digit" in message else "other"


def _heading(mark: str, title: str, style: str) -> Content:
    return Content.assemble((mark, style), (title, f"bold {style}"))


def _problem_line(problem: Problem) -> Content:
    return Content("  " + safe_text(str(problem), 200))


def submit_label(preview: ImportPreview) -> str:
    """`Add 3`: what would be sent (what is skipped is in the preview's text)."""
    return f"Add {len(preview.items)}" if preview.items else "Add"


def adding_text(done: int, total: int) -> str:
    return f"Adding {count(total, 'VIN')}… {done} of {total} answered · Esc: stop"


def results_heading(results: Sequence[Any], *, stopped: bool = False) -> Content:
    """`Results: 2 of 3 ok · 1 error` or `Stopped: 1 of 3 ok · 1 no answer · 1 not sent`."""
    ok = sum(1 for r in results if r.ok)
    parts = [f"{ok} of {len(results)} ok"]
    for status, words in (
        ("error", ("error", "errors")),
        (NO_ANSWER, (NO_ANSWER, NO_ANSWER)),
        (NOT_SENT, (NOT_SENT, NOT_SENT)),
    ):
        n = sum(1 for r in results if r.status == status)
        if n:
            parts.append(f"{n} {words[n != 1]}")
    head = ("Stopped: ", "bold $warning") if stopped else ("Results: ", "bold")
    hint = " (failures first)" if ok < len(results) else ""
    return Content.assemble(head, " · ".join(parts), (hint, "$text-muted"))


def results_note(results: Sequence[Any]) -> str:
    """What `no answer` means, when some VIN has it (empty otherwise)."""
    return NO_ANSWER_MEANS if any(r.status == NO_ANSWER for r in results) else ""


def stopped_without_results() -> Content:
    return Content.styled(
        "Stopped: the journal (palette: Show journal) says what was sent.", "bold $warning"
    )


def failed_text(error: str | None) -> Content:
    return Content.styled(
        f"Nothing was added: {error}. Your input is kept; fix it or try again.", "$error"
    )


#: ^s on an add already sent: nothing is sent twice.
SPENT = (
    "These VINs were sent already (the journal has the add): change the input for a new add, "
    "or close."
)


# -- eligibility (the platform's answer before adding, asked with ^g) ---------------------------

#: Groups of the eligibility check, in order: (heading, what it means, style).
ELIGIBILITY_GROUPS = {
    "not_eligible": (
        "Not eligible",
        "the platform says the car cannot deliver data: adding it is likely to end rejected",
        "$error",
    ),
    "deactivated": (
        "Connectivity deactivated",
        "the owner or the brand's connected services must turn it on",
        "$warning",
    ),
    "primary_user": (
        "Primary user enrolled (VW Group)",
        "VW Group rejects these until that user is deregistered and the head unit reset",
        "$warning",
    ),
    "unchecked": (
        "Not checked",
        "no eligibility answer for these (why, for each, below): they may still be added",
        "$warning",
    ),
}


def eligibility_group(answer: Any) -> str:
    """The group of one `EligibilityAnswer` (service/eligibility_check.py): "ok" when none."""
    found = answer.answer
    if found is None:
        return "unchecked"
    if not found.eligible:
        return "not_eligible"
    if found.connectivity_status == "deactivated":
        return "deactivated"
    return "primary_user" if found.primary_user_assigned else "ok"


def eligibility_content(answers: Sequence[Any]) -> Content:
    """`Eligibility: 3 of 5 eligible, nothing in the way`, then every car that is not, grouped."""
    groups: dict[str, list[Any]] = {name: [] for name in (*ELIGIBILITY_GROUPS, "ok")}
    for answer in answers:
        groups[eligibility_group(answer)].append(answer)
    ok = len(groups["ok"])
    head = f"{ok} of {len(answers)} eligible, nothing in the way"
    lines = [Content.assemble(("Eligibility: ", "bold"), head)]
    for name, (title, means, style) in ELIGIBILITY_GROUPS.items():
        found = groups[name]
        if not found:
            continue
        lines.append(_heading("✗ " if name == "not_eligible" else "! ", title, style))
        lines[-1] = Content.assemble(lines[-1], f" ({len(found)}): {means}")
        for answer in found:
            detail = f": {answer.error}" if answer.error else ""
            lines.append(Content("  " + safe_text(f"{answer.vin} ({answer.brand}){detail}", 200)))
    return Content("\n").join(lines)


def checking_text(done: int, total: int) -> str:
    return (
        f"Eligibility: checking {count(total, 'VIN')}… {done} of {total} answered "
        "(the dialog stays usable; nothing is added)"
    )


#: ^g with nothing valid to check yet.
NOTHING_TO_CHECK = "Nothing to check yet: the preview has no VIN to add."
