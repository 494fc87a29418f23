#!/usr/bin/python3
"""man_from_md.py — dqr.1 from docs/cli.md, so the man page and the command
line docs cannot drift apart: run at package build (debian/rules), no
pandoc needed. It reads the small Markdown subset cli.md uses: the title,
paragraphs, "## dqr COMMAND ..." sections (one .SS each under COMMANDS),
fenced code blocks, "- " lists with indented continuation lines, and inline
`code`, **bold**, *emphasis* and [links](url).

Usage: man_from_md.py CLI_MD OUT_1 VERSION [DATE]"""
import re
import sys


def escape(text):
    """roff-safe text: backslashes doubled, hyphens in options kept literal."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def inline(text):
    out, pos = [], 0
    for m in re.finditer(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\([^)]+\)", text):
        out.append(escape(text[pos:m.start()]))
        code, bold, em, link = m.groups()
        if code or bold:
            out.append("\\fB" + escape(code or bold) + "\\fR")
        elif em:
            out.append("\\fI" + escape(em) + "\\fR")
        else:
            out.append(escape(link))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def line_safe(line):
    """A text line may not start with a roff control character."""
    return "\\&" + line if line[:1] in (".", "'") else line


def convert(md, version, date):
    lines = md.splitlines()
    out = [f'.TH DQR 1 "{date}" "dqr {version}" "User Commands"',
           ".SH NAME", "dqr \\- PHI\\-safe DICOM query/retrieve gateway and de\\-identifying archive",
           ".SH SYNOPSIS", "\\fBdqr\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]", ".SH DESCRIPTION"]
    para, in_code, in_list = [], False, False

    def flush():
        nonlocal para
        if para:
            out.append(line_safe(inline(" ".join(para))))
            para = []

    seen_command = False
    for raw in lines:
        if raw.startswith("```"):
            flush()
            in_code = not in_code
            out.extend([".PP", ".nf", ".RS 4"] if in_code else [".RE", ".fi"])
            continue
        if in_code:
            out.append(line_safe(escape(raw)))
            continue
        if raw.startswith("# "):
            continue
        if raw.startswith("## "):
            flush()
            if not seen_command:
                out.append(".SH COMMANDS")
                seen_command = True
            out.extend([".SS " + inline(raw[3:].strip())])
            in_list = False
            continue
        if not raw.strip():
            flush()
            in_list = False
            continue
        if raw.startswith("- "):
            flush()
            out.append(".IP \\(bu 2")
            para.append(raw[2:].strip())
            in_list = True
            continue
        if not para and not in_list:
            out.append(".PP")
        para.append(raw.strip())
    flush()
    out.extend([".SH EXIT STATUS",
                "0 success; 1 runtime failure; 2 usage or configuration error; "
                "3 an instance rejected by a script (anonymize).",
                ".SH FILES", ".TP", "/etc/dqr/dqr.json", "settings of the dqr service (dqr.service)",
                ".TP", "/var/lib/dqr", "catalog and de\\-identified archive of the packaged service",
                ".TP", "/var/lib/dqr\\-keys", "vault key and UID secret, outside the data directory",
                ".SH SEE ALSO", "\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1); /usr/share/doc/dqr/"])
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.split("\n\n")[-1])
    date = sys.argv[4] if len(sys.argv) == 5 else "2026-01-01"
    with open(sys.argv[1], encoding="utf-8") as f:
        page = convert(f.read(), sys.argv[3], date)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    main()
