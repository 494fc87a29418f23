#!/usr/bin/python3
"""Generate synthetic DICOM studies with planted, greppable fake PHI.

Usage:
  gen_studies.py OUT [--patients N] [--studies N] [--series N] [--instances N]
                     [--rows R] [--cols C] [--frames F] [--syntax explicit|implicit|big]
                     [--seed S]

Every identifying attribute holds a "canary": a unique string that names what
it is (DQRCANARY-PN-00001, or DQRC-ACC-00002 where only 16 characters fit;
all start with DQRC), so a PHI test can grep every byte of every
file a pipeline wrote. OUT/manifest.json lists each canary with the
attribute and file it was planted in. Pixel data is streamed to disk, so a
1 GiB multi-frame file needs no more memory than a small one.

Needs Debian's python3-pydicom (run with /usr/bin/python3).
"""
import argparse
import io
import json
import os
import random
import struct

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian

SYNTAX = {"explicit": ExplicitVRLittleEndian, "implicit": ImplicitVRLittleEndian,
          "big": ExplicitVRBigEndian}
CT = "1.2.840.10008.5.1.4.1.1.2"
UID_ROOT = "2.25."


def uid(rng):
    return UID_ROOT + str(rng.getrandbits(120))


class Canaries:
    """Makes canary strings and remembers where each was planted."""

    def __init__(self, seed=1):
        # Sets made with different seeds are different patients: their
        # canaries (PatientID among them) must differ too, or a pseudonym
        # registry rightly takes them for one returning patient.
        self.n = (seed - 1) * 100000
        self.rows = []
        self.scope = ()    # (patient, study, series): what a canary belongs to
        self.made = {}

    def make(self, kind, keyword, path, maxlen=64):
        # One canary per patient for patient attributes, per study for study
        # attributes, per instance for the rest: real data is consistent, and a
        # PACS groups instances by these values.
        level = {"PN": 1, "PID": 1, "ADDR": 1, "OPID": 1, "TEL": 1}.get(kind, 2 if kind in (
            "ACC", "SID", "SDESC", "REF", "INST", "IADDR", "RPID", "PRIV") else 4)
        key = (kind, self.scope[:level])
        value = self.made.get(key)
        if value is None:
            self.n += 1
            value = f"DQRCANARY-{kind}-{self.n:05d}"
            if len(value) > maxlen:  # SH and friends: 16 characters
                value = f"DQRC-{kind[:4]}-{self.n:05d}"
            if len(value) > maxlen:  # a later seed's larger numbers
                value = f"DQRC{kind[:4]}{self.n}"
            assert len(value) <= maxlen, value
            self.made[key] = value
        self.rows.append({"canary": value, "attribute": keyword, "file": path})
        return value


def patient_header(ds, can, path, p):
    ds.PatientName = can.make("PN", "PatientName", path) + "^FAKE"
    ds.PatientID = can.make("PID", "PatientID", path)
    ds.PatientBirthDate = "19%02d0%d1%d" % (40 + p % 50, 1 + p % 9, p % 10)
    ds.PatientSex = "OF"[p % 2]
    ds.PatientAddress = can.make("ADDR", "PatientAddress", path)
    ds.OtherPatientIDs = can.make("OPID", "OtherPatientIDs", path)
    ds.PatientTelephoneNumbers = can.make("TEL", "PatientTelephoneNumbers", path, 16)


def study_header(ds, can, path, study):
    ds.StudyInstanceUID = study["uid"]
    ds.StudyDate = study["date"]
    ds.StudyTime = "101500"
    ds.AccessionNumber = can.make("ACC", "AccessionNumber", path, 16)
    ds.StudyID = can.make("SID", "StudyID", path, 16)
    ds.StudyDescription = "CT CHEST " + can.make("SDESC", "StudyDescription", path)
    ds.ReferringPhysicianName = can.make("REF", "ReferringPhysicianName", path) + "^DR"
    ds.InstitutionName = can.make("INST", "InstitutionName", path)
    ds.InstitutionAddress = can.make("IADDR", "InstitutionAddress", path)
    req = Dataset()
    req.RequestedProcedureID = can.make("RPID", "RequestAttributesSequence/RequestedProcedureID", path, 16)
    req.ScheduledProcedureStepID = "SPS1"
    ds.RequestAttributesSequence = Sequence([req])
    # a private block, as vendors write them
    block = ds.private_block(0x0029, "DQR FAKE VENDOR", create=True)
    block.add_new(0x01, "LO", can.make("PRIV", "(0029,xx01) private", path))


def image(rng, can, path, p, study, series, k, args):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = uid(rng)
    ds.Modality = "CT"
    ds.Manufacturer = "DQR SYNTHETIC"
    ds.StationName = can.make("STN", "StationName", path, 16)
    patient_header(ds, can, path, p)
    study_header(ds, can, path, study)
    ds.SeriesInstanceUID = series["uid"]
    ds.SeriesNumber = series["number"]
    ds.SeriesDescription = "AXIAL " + str(series["number"])
    ds.Laterality = ""
    ds.PatientPosition = "HFS"
    ds.PositionReferenceIndicator = ""
    ds.PixelSpacing = [0.5, 0.5]
    ds.KVP = "120"
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [0, 0, float(k)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceThickness = "1.0"
    ds.FrameOfReferenceUID = study["for"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = args.rows
    ds.Columns = args.cols
    if args.frames > 1:
        ds.NumberOfFrames = args.frames
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    return ds


def write(path, ds, syntax, nbytes, block):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1573.99"
    meta.ImplementationVersionName = "DQR_GEN"
    ds.file_meta = meta
    ds.is_little_endian = syntax != ExplicitVRBigEndian
    ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
    head = io.BytesIO()
    pydicom.dcmwrite(head, ds, write_like_original=False)
    be = syntax == ExplicitVRBigEndian
    tag = struct.pack(">HH" if be else "<HH", 0x7FE0, 0x0010)
    if ds.is_implicit_VR:
        hdr = tag + struct.pack("<I", nbytes)
    else:
        hdr = tag + b"OW\0\0" + struct.pack(">I" if be else "<I", nbytes)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head.getvalue())
        f.write(hdr)
        left = nbytes
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--patients", type=int, default=1)
    ap.add_argument("--studies", type=int, default=1, help="per patient")
    ap.add_argument("--series", type=int, default=1, help="per study")
    ap.add_argument("--instances", type=int, default=10, help="per series")
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--cols", type=int, default=512)
    ap.add_argument("--frames", type=int, default=1)
    ap.add_argument("--syntax", choices=SYNTAX, default="explicit")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    block = bytes(rng.getrandbits(8) for _ in range(1 << 16)) * 16  # 1 MiB of noise
    can = Canaries(args.seed)
    os.makedirs(args.out, exist_ok=True)
    nbytes = args.rows * args.cols * 2 * args.frames
    count = 0
    for p in range(args.patients):
        for s in range(args.studies):
            study = {"uid": uid(rng), "for": uid(rng), "date": "2020%02d%02d" % (1 + s % 12, 1 + p % 28)}
            for e in range(args.series):
                series = {"uid": uid(rng), "number": e + 1}
                d = os.path.join(args.out, f"p{p:03d}", f"st{s:02d}", f"se{e:02d}")
                os.makedirs(d, exist_ok=True)
                for k in range(args.instances):
                    can.scope = (p, s, e, k)
                    path = os.path.join(d, f"im{k:04d}.dcm")
                    ds = image(rng, can, os.path.relpath(path, args.out), p, study, series, k, args)
                    write(path, ds, SYNTAX[args.syntax], nbytes, block)
                    count += 1
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump({"files": count, "canaries": can.rows}, f, indent=1)
    print(f"gen_studies: {count} files, {len(set(r['canary'] for r in can.rows))} canaries in {args.out}")


if __name__ == "__main__":
    main()
