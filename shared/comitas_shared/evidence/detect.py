"""What an upload is, told from its first bytes, and which kinds the store refuses.

The name and the declared type come from the uploader and prove nothing: an ELF executable named
``statement.pdf`` and declared ``application/pdf`` is recorded as ``application/x-executable``. A few
signatures are checked here first (executables and shebang scripts, the kinds the default policy
refuses, so that refusal never depends on a third-party guess); everything else is puremagic's guess,
then plain text, then ``application/octet-stream``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

import puremagic

from .errors import EvidenceEmpty, EvidenceTypeRefused

SNIFF_BYTES = 64 * 1024
"""How much of the head is looked at (and held before anything is stored): enough for formats whose
signature sits past the first sector, such as ISO 9660 images at 32 KiB."""

OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain"
ELF = "application/x-executable"
PE = "application/vnd.microsoft.portable-executable"
DOS = "application/x-dosexec"
MACH_O = "application/x-mach-binary"
JAVA_CLASS = "application/java-vm"
JAVA_ARCHIVE = "application/java-archive"
ANDROID_PACKAGE = "application/vnd.android.package-archive"
ZIP = "application/zip"
SHELL_SCRIPT = "text/x-shellscript"
SCRIPT = "text/x-script"

EXECUTABLE_TYPES = frozenset({
    ELF, PE, DOS, MACH_O, JAVA_CLASS, JAVA_ARCHIVE, ANDROID_PACKAGE,
    # Names other detectors (and puremagic's catalogue) use for the same kinds.
    "application/x-elf", "application/x-sharedlib", "application/x-pie-executable",
    "application/x-msdownload", "application/x-msdos-program", "application/x-ms-installer",
    "application/x-msi", "application/x-mach-o-executable", "application/java",
    "application/x-java-applet", "application/x-executable-file",
})
SCRIPT_TYPES = frozenset({
    SHELL_SCRIPT, SCRIPT, "application/x-sh", "application/x-shellscript", "application/x-csh",
    "text/x-python", "text/x-script.python", "application/x-python-code", "text/x-perl", "application/x-perl",
    "text/x-ruby", "application/x-ruby", "text/x-php", "application/x-php", "text/x-lua", "text/x-tcl",
    "application/x-bat", "application/x-msdos-batch", "application/x-powershell", "application/hta",
    "application/x-ms-shortcut", "text/vbscript", "application/x-vbscript",
})
RISKY_EXTENSIONS = frozenset({
    # Windows runs these by name whatever they contain, and most have no signature to detect
    # (batch files, PowerShell, VBScript and JScript are plain text).
    ".exe", ".com", ".scr", ".pif", ".msi", ".msp", ".dll", ".cpl", ".bat", ".cmd", ".ps1", ".psm1",
    ".vbs", ".vbe", ".js", ".jse", ".wsf", ".wsh", ".hta", ".lnk", ".reg", ".jar", ".apk", ".app",
})

_INTERPRETERS = {
    "sh": SHELL_SCRIPT, "bash": SHELL_SCRIPT, "dash": SHELL_SCRIPT, "zsh": SHELL_SCRIPT, "ksh": SHELL_SCRIPT,
    "csh": SHELL_SCRIPT, "tcsh": SHELL_SCRIPT, "fish": SHELL_SCRIPT, "busybox": SHELL_SCRIPT,
    "python": "text/x-python", "perl": "text/x-perl", "ruby": "text/x-ruby", "php": "text/x-php",
    "lua": "text/x-lua", "tclsh": "text/x-tcl",
}
_MACH_O_MAGICS = {b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"}
_CONTROL_ALLOWED = frozenset(b"\t\n\r\f\b\x1b")


def _shebang_type(head: bytes) -> str:
    line = head[2:256].split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    words = line.split()
    if not words:
        return SCRIPT
    program = words[0].rsplit("/", 1)[-1]
    if program == "env":
        # "#!/usr/bin/env -S python3 -u": the first word that is not an option names the interpreter.
        program = next((w for w in words[1:] if not w.startswith("-")), "").rsplit("/", 1)[-1]
    base = program.rstrip("0123456789.")
    return _INTERPRETERS.get(base, SCRIPT)


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may end inside a multi-byte character; anything earlier is not UTF-8 text.
        if exc.start < len(head) - 3:
            return False
        text = head[:exc.start].decode("utf-8")
    controls = sum(1 for ch in text if ord(ch) < 32 and ord(ch) not in _CONTROL_ALLOWED)
    return controls * 100 <= len(text)


def _builtin_signature(head: bytes) -> str | None:
    """Executables and scripts, recognised here rather than trusted to a general-purpose guesser."""
    if head.startswith(b"\x7fELF"):
        return ELF
    if head.startswith(b"#!"):
        return _shebang_type(head)
    if head[:4] in _MACH_O_MAGICS:
        return MACH_O
    if head.startswith(b"\xca\xfe\xba\xbe") and len(head) >= 8:
        # The same magic opens Mach-O universal binaries and Java class files; a universal binary
        # counts a handful of architectures where a class file has its major version (45 and up).
        (count,) = struct.unpack(">I", head[4:8])
        return MACH_O if count < 45 else JAVA_CLASS
    if head.startswith(b"MZ"):
        if len(head) >= 0x40:
            (pe_offset,) = struct.unpack("<I", head[0x3C:0x40])
            if head[pe_offset:pe_offset + 4] == b"PE\x00\x00":
                return PE
        # A text that merely starts with "MZ" is not a DOS program.
        if not _looks_like_text(head):
            return DOS
    return None


def _zip_type(head: bytes) -> str:
    """puremagic names every zip an Office document; the first entries' names say better."""
    if b"AndroidManifest.xml" in head or b"classes.dex" in head:
        return ANDROID_PACKAGE
    if b"META-INF/MANIFEST.MF" in head:
        return JAVA_ARCHIVE
    if b"[Content_Types].xml" in head:
        for marker, office in ((b"word/", "wordprocessingml.document"), (b"xl/", "spreadsheetml.sheet"),
                               (b"ppt/", "presentationml.presentation")):
            if marker in head:
                return "application/vnd.openxmlformats-officedocument." + office
    if head[30:38] == b"mimetype" and b"application/vnd.oasis.opendocument" in head[:200]:
        start = head.index(b"application/vnd.oasis.opendocument")
        return head[start:start + 80].split(b"PK", 1)[0].decode("ascii", "replace").strip()
    return ZIP


def detect_type(head: bytes) -> str:
    """The media type of a file whose first bytes are ``head`` (up to :data:`SNIFF_BYTES`)."""
    builtin = _builtin_signature(head)
    if builtin is not None:
        return builtin
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(head)
    try:
        # No file name is passed: the guess must come from the content alone.
        guesses = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        guesses = []
    for guess in sorted(guesses, key=lambda g: g.confidence, reverse=True):
        # "application/octet-stream" is no answer: the text check below may still know better.
        if guess.mime_type and guess.mime_type != OCTET_STREAM:
            return str(guess.mime_type)
    return TEXT_PLAIN if _looks_like_text(head) else OCTET_STREAM


def _extension(filename: str | None) -> str:
    if not filename:
        return ""
    # Either separator may come from a browser on any system; only the last part is the name.
    name = PureWindowsPath(PurePosixPath(filename).name).name
    return PurePosixPath(name.rstrip(". ")).suffix.lower()


@dataclass(frozen=True)
class EvidencePolicy:
    """What the store accepts. The default refuses executables and scripts, by content and, for the
    kinds Windows runs by name, by name; set ``allowed_types`` to accept only a list.

    A service that must take malware samples as evidence (a spyware case) should not weaken its
    default: ask for them inside an archive, which is stored and never opened by Comitas.
    """

    refused_types: frozenset[str] = EXECUTABLE_TYPES | SCRIPT_TYPES
    refused_extensions: frozenset[str] = RISKY_EXTENSIONS
    allowed_types: frozenset[str] | None = None
    allow_empty: bool = False

    def check(self, detected_type: str, *, filename: str | None = None, size: int | None = None) -> None:
        """Raise :class:`EvidenceTypeRefused` (422) or :class:`EvidenceEmpty` (422) if refused."""
        if size == 0 and not self.allow_empty:
            raise EvidenceEmpty("the file is empty; nothing was stored")
        if detected_type in self.refused_types:
            raise EvidenceTypeRefused(f"files of type {detected_type} are refused as evidence; nothing was stored",
                                      detected_type=detected_type)
        if self.allowed_types is not None and detected_type not in self.allowed_types:
            raise EvidenceTypeRefused(f"files of type {detected_type} are not accepted here; nothing was stored",
                                      detected_type=detected_type)
        extension = _extension(filename)
        if extension and extension in self.refused_extensions:
            raise EvidenceTypeRefused(
                f"files named *{extension} are refused as evidence whatever they contain "
                f"(detected {detected_type}); nothing was stored",
                detected_type=detected_type, extension=extension)


DEFAULT_POLICY = EvidencePolicy()
