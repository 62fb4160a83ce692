"""The preparation document, as a PDF (fpdf2): the body's form section by section in its own order,
each item with its label and rule, what is missing said as missing, what consent keeps back said as
withheld (its content is never written), the confidentiality request, and the blocks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from .domain import ItemState, Preparation

# A Unicode TrueType font (Debian's fonts-dejavu-core): the PDF core fonts know only Latin-1, and names in
# complaints come in every script.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
)


def _font() -> Path | None:
    return next((p for p in FONT_CANDIDATES if p.is_file()), None)


class _Pdf:
    def __init__(self, *, title: str, now: datetime) -> None:
        # Imported when a document is made: fpdf (and fontTools) is heavy and most requests never render.
        from fpdf import FPDF

        font = _font()
        self.pdf: Any = FPDF(format="A4")
        self.pdf.set_creation_date(now)
        self.pdf.set_title(title)
        self.pdf.set_creator("Comitas intake")
        self.pdf.set_auto_page_break(auto=True, margin=18)
        self.latin1_only = font is None
        if font is not None:
            self.pdf.add_font("body", "", str(font))
            bold = font.with_name(font.stem + "-Bold" + font.suffix)
            self.pdf.add_font("body", "B", str(bold if bold.is_file() else font))
            self.family = "body"
        else:
            self.family = "helvetica"
        self.pdf.add_page()

    def _text(self, value: str) -> str:
        return value.encode("latin-1", "replace").decode("latin-1") if self.latin1_only else value

    def heading(self, value: str, size: int = 13) -> None:
        self.pdf.set_font(self.family, "B", size)
        self.pdf.multi_cell(0, 7, self._text(value), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def para(self, value: str, *, bold: bool = False, size: int = 10) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(0, 5, self._text(value), new_x="LMARGIN", new_y="NEXT")

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def render(preparation: Preparation, *, reference: str, now: datetime, language: str | None,
           translation: str) -> bytes:
    body, form = preparation.body, preparation.form
    title = f"{form.name}: {reference}"
    pdf = _Pdf(title=title, now=now)
    kind = "PREPARATION DOCUMENT" if body.document == "preparation" else "SUBMISSION"
    pdf.heading(f"{kind}: {form.name}", 14)
    pdf.para(f"Complaint {reference}. Prepared {now.date().isoformat()} from form data version {form.version}.")
    if body.document_note:
        pdf.para(body.document_note, bold=True)
    if preparation.mandates:
        pdf.para("Addressed to: " + "; ".join(f"{m.name} [{m.provision}]" for m in preparation.mandates), bold=True)
    pdf.para(f"Language: {language or 'not recorded'}; the body accepts {body.languages_note} "
             f"({', '.join(body.languages)}); translation: {translation.replace('_', ' ')}.")
    if preparation.blocks:
        pdf.heading("BLOCKED: this filing must not be sent", 12)
        for block in preparation.blocks:
            pdf.para(f"- {block.reason}")
    if preparation.confidentiality:
        pdf.heading("Request for confidentiality", 12)
        pdf.para(preparation.confidentiality)
    pdf.pdf.ln(2)
    for section in preparation.sections:
        pdf.heading(section.title, 12)
        for item in section.items:
            if item.state is ItemState.NOT_APPLICABLE:
                continue
            pdf.para(f"{item.item.item} {item.item.label}", bold=True)
            if item.state is ItemState.PRESENT:
                for line in item.lines:
                    pdf.para(line)
            elif item.state is ItemState.MISSING:
                pdf.para("MISSING: " + (item.detail or "not in the complaint"))
            else:
                pdf.para("WITHHELD: " + (item.detail or "not covered by consent"))
            pdf.para(f"({item.item.provision}; {item.item.status})", size=8)
        pdf.pdf.ln(1)
    missing = preparation.missing
    pdf.heading("Still missing", 12)
    if not missing:
        pdf.para("Nothing the form requires is missing.")
    for item in missing:
        level = "required" if item.blocking else "if possible"
        pdf.para(f"- {item.item.item} {item.item.label} ({item.state.value}, {level}; {item.item.provision})")
    return pdf.output()
