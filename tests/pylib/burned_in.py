"""Images with fake PHI burned into the pixels, at known boxes, and clean
CT/MR frames: the test data of dqr's OCR step (issue #14 item 7).

  burned_in.py OUT [--us N] [--sc N] [--ct N] [--mr N] [--frames F] [--seed S]
               [--syntaxes native,rle,jpeg,jpegls]

writes OUT/*.dcm and OUT/manifest.json. Ultrasound (640x480, a speckled
sector, grey or RGB) and secondary captures (screenshots: light text on a
dark image, or dark text on a light page) carry lines such as
"Name: QUILLFEATHER, TOBIAS" / "DOB: 03/12/1961" / "MRN: 48213957", in
DejaVu fonts of 11-20 pixels, white, grey or coloured, next to the screen
annotations a clean image has too (orientation markers, units, "Gain 50",
depth numbers). The manifest lists every planted PHI word with its box
(left, top, width, height, frame pixels) and 1-based frame. Files cycle
through Explicit VR Little Endian, RLE Lossless, JPEG Baseline and JPEG-LS
(DCMTK's dcmcjpls). Clean CT (512x512, 12-bit, a window) and MR (256x256,
no window) frames have no text at all: what OCR reads there is a false
positive.

The fake names are invented (greppable: none is a common name); every
value comes from the seed, so a run can be repeated.
Needs /usr/bin/python3 with python3-pydicom, python3-numpy, python3-pil.
"""
import argparse
import io
import json
import os
import random
import subprocess

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, JPEGLSLossless, RLELossless

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONTS = ["DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf",
         "DejaVuSerif.ttf", "DejaVuSansMono-Bold.ttf"]
SURNAMES = ["QUILLFEATHER", "BRACKENRIDGE", "THISTLEWOOD", "MARROWBY", "FENWICKSON", "OAKENSHAW",
            "PEMBERLEY", "HOLLOWAYNE", "GRIMSDALE", "WINTERBOTTOM", "ASHCOMBE", "BLACKTHORNE",
            "CRUMPLETON", "DRAYCOTTE", "ELDERWICK", "FARTHINGALE", "GOODBODY", "HARTLEPOOLE",
            "INGLEBERT", "JESSAMINE", "KILBRIDGE", "LANGSTROTH", "MOSSGROVE", "NETHERCOTT",
            "ORMSKIRKE", "PRIDDLEWELL", "QUENNELL", "ROOKSBY", "SANDIFER", "TREVELYANE",
            "UPPERTHORP", "VANTERPOOL", "WHITLOCKE", "YARBOROUGH", "ZOUCHWELL"]
GIVEN = ["TOBIAS", "MARGARETHE", "ELOWEN", "PERCIVAL", "ROSALIND", "AUGUSTIN", "CLEMENTINE",
         "BARNABY", "OTTILIE", "FREDERICA", "LEOPOLD", "WINIFRED", "CORNELIUS", "HONORIA"]
LABELS = {"name": ["Name:", "Patient:", "Pt:", ""], "dob": ["DOB:", "Birth:", ""],
          "id": ["MRN:", "ID:", "PID:", "Acc:"], "date": ["", "Exam:", "Date:"]}
CLEAN_NOTES = ["L", "R", "A", "P", "12 cm", "Gain 50", "MI 1.2", "TIS 0.4", "3.5MHz", "FR 30",
               "Depth 16", "60 dB", "2D", "HR 72 bpm", "PW", "CW", "Zoom 1.2"]
CT_SOP = "1.2.840.10008.5.1.4.1.1.2"
MR_SOP = "1.2.840.10008.5.1.4.1.1.4"
US_SOP = "1.2.840.10008.5.1.4.1.1.6.1"
US_MF_SOP = "1.2.840.10008.5.1.4.1.1.3.1"
SC_SOP = "1.2.840.10008.5.1.4.1.1.7"
SYNTAXES = ["native", "rle", "jpeg", "jpegls"]


def uid(rng):
    return "2.25." + str(rng.getrandbits(120))


def fake_date(rng):
    y, m, d = rng.randint(1930, 2024), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y}"])


def phi_lines(rng):
    """The identifying lines of one image: (label, [PHI words])."""
    name = [rng.choice(SURNAMES) + ",", rng.choice(GIVEN)]
    ident = str(rng.randint(10 ** 6, 10 ** 9 - 1)) if rng.random() < 0.6 else \
        rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + str(rng.randint(10 ** 5, 10 ** 7))
    return [(rng.choice(LABELS["name"]), name), (rng.choice(LABELS["dob"]), [fake_date(rng)]),
            (rng.choice(LABELS["id"]), [ident]), (rng.choice(LABELS["date"]), [fake_date(rng)])]


def draw_line(draw, x, y, label, words, font, fill):
    """Draw 'label word word' at x,y; returns the boxes of the words."""
    text = (label + " " if label else "") + " ".join(words)
    draw.text((x, y), text, font=font, fill=fill)
    boxes, offset = [], len(label) + 1 if label else 0
    for w in words:
        l, t, r, b = draw.textbbox((x, y), text[:offset + len(w)], font=font)
        l0 = x + draw.textlength(text[:offset], font=font)
        boxes.append({"text": w.rstrip(","), "box": [int(l0), int(t), int(r - l0), int(b - t)]})
        offset += len(w) + 1
    return boxes


def text_colour(rng, rgb, light):
    if not light:
        v = rng.randint(0, 60)
        return (v, v, v) if rgb else v
    if rgb and rng.random() < 0.5:
        return rng.choice([(255, 255, 0), (0, 255, 0), (0, 255, 255), (255, 200, 0), (255, 255, 255)])
    v = rng.randint(190, 255)
    return (v, v, v) if rgb else v


def speckle_sector(rng, w, h):
    """An ultrasound-like background: black with a speckled fan."""
    nr = np.random.default_rng(rng.getrandbits(32))
    yy, xx = np.mgrid[0:h, 0:w]
    cx, top = w / 2, 40
    ang = np.arctan2(xx - cx, yy - top + 1e-6)
    rad = np.hypot(xx - cx, yy - top)
    fan = (np.abs(ang) < 0.6) & (rad < h - 60) & (yy > top)
    tissue = nr.rayleigh(38, (h, w)) * (1 + 0.6 * np.sin(rad / 23.0) * np.cos(ang * 7))
    img = np.where(fan, np.clip(tissue, 0, 235), 0)
    return img.astype(np.uint8)


def dim_colour(grey, rgb):
    return (grey, grey, grey) if rgb else grey


def white_scale(draw, w, h, rgb):
    """A scanner's depth scale at full white (ticks down the right edge, a
    small solid logo): the frame's brightest pixels are not the text's."""
    white = dim_colour(255, rgb)
    for k in range(12):
        y = 60 + k * 30
        draw.line([(w - 14, y), (w - 4 - (6 if k % 5 == 0 else 0), y)], fill=white, width=2)
    draw.line([(w - 4, 60), (w - 4, 60 + 11 * 30)], fill=white, width=2)
    draw.rectangle([w - 30, h - 24, w - 8, h - 8], fill=white)


def annotate(rng, img, rgb, light, planted, clean_notes=True, dim=None):
    """Burn PHI lines and clean notes into a PIL image; planted gets the boxes.
    dim: a grey level for the text, drawn beside a white scale (None: the
    usual bright text)."""
    draw = ImageDraw.Draw(img)
    w, h = img.size
    size = rng.randint(11, 20)
    font = ImageFont.truetype(FONT_DIR + rng.choice(FONTS), size)
    x = rng.randint(4, 40) if rng.random() < 0.6 else max(4, w - 360 - rng.randint(0, 30))
    y = rng.randint(4, 30)
    fill = text_colour(rng, rgb, light)
    if dim is not None:
        fill = dim_colour(dim, rgb)
        white_scale(draw, w, h, rgb)
    for label, words in phi_lines(rng):
        for b in draw_line(draw, x, y, label, words, font, fill):
            bl, bt, bw, bh = b["box"]
            if bl + bw <= w:  # a word drawn past the edge is not in the image
                planted.append(b)
        y += int(size * 1.35)
    if clean_notes:
        small = ImageFont.truetype(FONT_DIR + rng.choice(FONTS), rng.randint(11, 16))
        for k, note in enumerate(rng.sample(CLEAN_NOTES, 4)):
            draw.text((w - 110, h - 100 + 22 * k), note, font=small, fill=fill)


def us_frames(rng, frames, dim=None):
    """Frames of one ultrasound: new speckle each frame, the same burned-in
    annotation on all of them, as a scanner draws it."""
    rgb = rng.random() < 0.5
    ann_seed = rng.getrandbits(32)
    out, planted = [], []
    for f in range(frames):
        bg = Image.fromarray(speckle_sector(rng, 640, 480))
        img = bg.convert("RGB") if rgb else bg
        boxes = []
        annotate(random.Random(ann_seed), img, rgb, True, boxes, dim=dim)
        planted += [dict(b, frame=f + 1) for b in boxes]
        out.append(img)
    return out, planted, rgb


def sc_frame(rng, dim=None):
    rgb = rng.random() < 0.5
    light_page = rng.random() < 0.4
    w, h = rng.choice([(512, 512), (800, 600), (1024, 768)])
    nr = np.random.default_rng(rng.getrandbits(32))
    if light_page:
        arr = np.full((h, w), rng.randint(215, 250), np.uint8)
    else:
        yy, xx = np.mgrid[0:h, 0:w]
        arr = (60 + 50 * np.sin(xx / 37.0) * np.cos(yy / 53.0) + nr.normal(0, 8, (h, w))).clip(0, 140)
        arr = arr.astype(np.uint8)
    img = Image.fromarray(arr)
    img = img.convert("RGB") if rgb else img
    planted = []
    annotate(rng, img, rgb, not light_page, planted, clean_notes=not light_page,
             dim=None if light_page else dim)
    return [img], [dict(b, frame=1) for b in planted], rgb


def ct_frame(rng):
    nr = np.random.default_rng(rng.getrandbits(32))
    yy, xx = np.mgrid[0:512, 0:512]
    hu = np.full((512, 512), -1000.0)
    body = ((xx - 256) / rng.uniform(180, 230)) ** 2 + ((yy - 256) / rng.uniform(140, 190)) ** 2 < 1
    hu[body] = 40
    for cx in (180, 332):
        lung = ((xx - cx) / 60) ** 2 + ((yy - 240) / 90) ** 2 < 1
        hu[lung] = -820
    for _ in range(rng.randint(3, 8)):
        bx, by, r = rng.randint(150, 360), rng.randint(150, 360), rng.randint(6, 22)
        hu[(xx - bx) ** 2 + (yy - by) ** 2 < r * r] = rng.randint(500, 1400)
    hu += nr.normal(0, 12, hu.shape)
    return (hu + 1024).clip(0, 4095).astype(np.uint16)


def mr_frame(rng):
    nr = np.random.default_rng(rng.getrandbits(32))
    yy, xx = np.mgrid[0:256, 0:256]
    head = ((xx - 128) / 95) ** 2 + ((yy - 128) / 115) ** 2
    val = np.where(head < 1, 600 + 300 * np.cos(head * 9) + 200 * np.sin(xx / 11.0), 20)
    val = val + nr.rayleigh(15, val.shape)
    return val.clip(0, 4095).astype(np.uint16)


def base_dataset(rng, sop, modality):
    ds = Dataset()
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = uid(rng)
    ds.StudyInstanceUID = uid(rng)
    ds.SeriesInstanceUID = uid(rng)
    ds.Modality = modality
    ds.PatientName = "DQRCANARY-PN-BURNED"
    ds.PatientID = "DQRC-PID-BURNED"
    ds.Manufacturer = "DQR SYNTHETIC"
    ds.InstanceNumber = 1
    return ds


def pixel_module(ds, frames, rgb):
    arr = np.stack([np.asarray(f) for f in frames])
    ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    ds.PixelData = arr.tobytes()
    return arr


def jpeg_encode(ds, frames, rgb):
    frags = []
    for f in frames:
        b = io.BytesIO()
        f.save(b, format="JPEG", quality=92, subsampling=1 if rgb else 0)
        frags.append(b.getvalue())
    ds.PixelData = encapsulate(frags)
    ds["PixelData"].VR = "OB"
    if rgb:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.LossyImageCompression = "01"


def save(ds, path, syntax, frames=None, rgb=False):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1573.99"
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    if syntax == "rle":
        ds.compress(RLELossless)
    elif syntax == "jpeg" and frames is not None:
        jpeg_encode(ds, frames, rgb)
        meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.save_as(path, write_like_original=False)
    if syntax == "jpegls":
        subprocess.run(["dcmcjpls", "--encode-lossless", path, path + ".ls"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.replace(path + ".ls", path)
    return syntax


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--us", type=int, default=20, help="ultrasound files")
    ap.add_argument("--sc", type=int, default=20, help="secondary captures")
    ap.add_argument("--ct", type=int, default=20)
    ap.add_argument("--mr", type=int, default=20)
    ap.add_argument("--frames", type=int, default=1, help="frames of every 5th ultrasound")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--syntaxes", default=",".join(SYNTAXES), help="cycled through, comma-separated")
    ap.add_argument("--dim", type=float, default=0.0,
                    help="fraction of the burned files whose text is grey (40-70 %% of white) beside a white "
                         "scale; the others are drawn as without it (the same images for the same seed)")
    a = ap.parse_args()
    syntaxes = a.syntaxes.split(",")
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    man = {"burned": [], "clean": []}
    for k in range(a.us + a.sc):
        us = k < a.us
        syntax = syntaxes[k % len(syntaxes)]
        nframes = a.frames if us and k % 5 == 4 else 1
        # which files are dim and how grey: from k alone, so --dim leaves the main random stream as it was
        dim = random.Random(a.seed * 7919 + k).randint(102, 178) if int((k + 1) * a.dim) > int(k * a.dim) else None
        frames, planted, rgb = us_frames(rng, nframes, dim) if us else sc_frame(rng, dim)
        ds = base_dataset(rng, (US_MF_SOP if nframes > 1 else US_SOP) if us else SC_SOP, "US" if us else "OT")
        ds.BurnedInAnnotation = "YES"
        pixel_module(ds, frames, rgb)
        path = os.path.join(a.out, f"{'us' if us else 'sc'}{k:04d}.dcm")
        save(ds, path, syntax, frames, rgb)
        man["burned"].append({"file": path, "syntax": syntax, "frames": nframes, "phi": planted, "dim": dim})
    for k in range(a.ct + a.mr):
        ct = k < a.ct
        ds = base_dataset(rng, CT_SOP if ct else MR_SOP, "CT" if ct else "MR")
        arr = ct_frame(rng) if ct else mr_frame(rng)
        ds.Rows, ds.Columns = arr.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        if ct:
            ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
            ds.WindowCenter, ds.WindowWidth = rng.choice([("40", "400"), ("-600", "1500"), ("400", "1800")])
        ds.PixelData = arr.tobytes()
        path = os.path.join(a.out, f"{'ct' if ct else 'mr'}{k:04d}.dcm")
        syntax = save(ds, path, [s for s in syntaxes if s != "jpeg"][k % len([s for s in syntaxes if s != "jpeg"])])
        man["clean"].append({"file": path, "syntax": syntax, "frames": 1})
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)


if __name__ == "__main__":
    main()
