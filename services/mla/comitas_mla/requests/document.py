"""The request document, as a PDF (fpdf2): the EIO's Annex A layout for a European Investigation Order,
a letter of request for every other basis. Every item the basis asks for is printed with its label and
provision, so the document and the completeness check say the same thing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..legal_bases.schemas import BasisRules
from . import completeness
from .models import MlaRequest, Translation
from .schemas import RequestContent

# Where a Unicode TrueType font is usually found (Debian's fonts-dejavu-core); the PDF core fonts only
# know Latin-1, and names in requests come in every script.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
)
EIO_INTRO = ("This EIO has been issued by a competent authority. The issuing authority certifies that the issuing of "
             "this EIO is necessary and proportionate for the purpose of the proceedings specified within it, taking "
             "into account the rights of the suspected or accused person, and that the investigative measures "
             "requested could have been ordered under the same conditions in a similar domestic case. I request that "
             "the investigative measure or measures specified below be carried out, taking due account of the "
             "confidentiality of the investigation, and that the evidence obtained as a result of the execution of "
             "the EIO be transferred.")
SECTION_TITLES = {
    "A": "Issuing State / Executing State", "B": "Urgency", "C": "Investigative measure(s) to be carried out",
    "D": "Relationship to an earlier EIO", "E": "Identity of the person(s) concerned", "F": "Type of proceedings",
    "G": "Grounds for issuing the EIO", "H": "Additional requirements for certain measures",
    "I": "Formalities and procedures requested for the execution", "J": "Legal remedies",
    "K": "Details of the authority that issued the EIO", "L": "Details of the validating authority",
}


def find_font(configured: str | None) -> Path | None:
    if configured:
        path = Path(configured)
        return path if path.is_file() else None
    return next((p for p in FONT_CANDIDATES if p.is_file()), None)


class _Document:
    def __init__(self, font: Path | None, *, title: str, now: datetime) -> None:
        # Imported when a document is made, not at start-up: fpdf (and the fontTools it loads) is the
        # heaviest import of the service and most processes never render a PDF.
        from fpdf import FPDF

        self.pdf: Any = FPDF(format="A4")
        self.pdf.set_creation_date(now)
        self.pdf.set_title(title)
        self.pdf.set_creator("Comitas mla")
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

    def text(self, value: str) -> str:
        if self.latin1_only:
            return value.encode("latin-1", "replace").decode("latin-1")
        return value

    def heading(self, value: str, size: int = 13) -> None:
        self.pdf.set_font(self.family, "B", size)
        self.pdf.multi_cell(0, 7, self.text(value), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def para(self, value: str, *, bold: bool = False, size: int = 10) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(0, 5, self.text(value), new_x="LMARGIN", new_y="NEXT")

    def gap(self, height: float = 3) -> None:
        self.pdf.ln(height)

    def bytes(self) -> bytes:
        return bytes(self.pdf.output())


def render(row: MlaRequest, rules: BasisRules, content: RequestContent, result: completeness.Completeness,
           translations: Sequence[Translation], *, now: datetime, font: Path | None) -> bytes:
    translated = [(t.language, t.status) for t in translations]
    requesting = f"{row.requesting_name} ({row.requesting_state})"
    requested = f"{row.requested_name} ({row.requested_state})"

    def lines_of(item: completeness.ItemResult) -> list[str]:
        return completeness.value_of(item.rule.item, content, requesting=requesting, requested=requested,
                                     translations=translated)

    if rules.layout == "eio_annex_a":
        doc = _Document(font, title=f"European Investigation Order {row.reference}", now=now)
        doc.heading("ANNEX A — EUROPEAN INVESTIGATION ORDER (EIO)", 14)
        doc.para(f"Reference: {row.reference}    Issued under: {rules.name}")
        doc.para(f"Issuing authority: {requesting}    Executing State: {requested}")
        doc.gap()
        doc.para(EIO_INTRO, size=9)
        doc.gap()
        sections: dict[str, list[completeness.ItemResult]] = {}
        for item in result.items:
            sections.setdefault(item.rule.section or "~", []).append(item)
        for letter in sorted(sections):
            title = SECTION_TITLES.get(letter, "Languages and translations") if letter != "~" else \
                "Languages and translations"
            doc.heading(f"SECTION {letter}: {title}" if letter != "~" else title, 11)
            for item in sections[letter]:
                _item(doc, item, lines_of(item))
    else:
        doc = _Document(font, title=f"Request for mutual legal assistance {row.reference}", now=now)
        doc.heading("REQUEST FOR MUTUAL LEGAL ASSISTANCE IN CRIMINAL MATTERS", 14)
        doc.para(f"Reference: {row.reference}")
        doc.para(f"From: {requesting}")
        doc.para(f"To: {requested}")
        doc.para(f"Legal basis: {rules.name} ({rules.instrument.provision})")
        if row.confidential:
            doc.para("CONFIDENTIAL: the requesting authority asks that this request and its contents be kept "
                     "confidential.", bold=True)
        doc.gap()
        for number, item in enumerate(result.items, start=1):
            _item(doc, item, lines_of(item), number=number)
    if content.annexes:
        doc.heading("Annexes", 11)
        for number, annex in enumerate(content.annexes, start=1):
            doc.para(f"{number}. {annex.title}" + (f": {annex.description}" if annex.description else "")
                     + (f" ({annex.pages} pages)" if annex.pages else ""))
    if content.case and (content.case.reference or content.case.complaint_id):
        doc.para("Case: " + ", ".join(x for x in (content.case.reference,
                                                   f"Comitas complaint {content.case.complaint_id}"
                                                   if content.case.complaint_id else None) if x))
    doc.gap(6)
    doc.para(f"Signature and official stamp of {row.requesting_name}: ______________________")
    doc.para(f"Generated by Comitas on {now.date().isoformat()}; legal-basis data {row.rules_version}.", size=8)
    if doc.latin1_only:
        doc.para("Characters outside Latin-1 could not be printed (no Unicode font installed): check the request's "
                 "text in Comitas.", size=8)
    return doc.bytes()


def _item(doc: _Document, item: completeness.ItemResult, lines: list[str], *, number: int | None = None) -> None:
    label = f"{number}. {item.rule.label}" if number is not None else item.rule.label
    doc.para(f"{label} [{item.rule.provision}]", bold=True)
    if not item.applies:
        doc.para("Not applicable to this request.")
    elif lines:
        for line in lines:
            doc.para(line)
    else:
        doc.para("Not provided." + (" (required)" if item.rule.essential else ""))
    doc.gap(2)
