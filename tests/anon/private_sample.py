"""The sample instance of the record and safe private tests: PHI in Annex E
attributes whose action is D (an OB value, a code sequence), a safe Siemens
attribute in an unusual block beside an unsafe one of the same creator, a
site's own private attribute and sequence, and an unsafe private block."""
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

# The site file that makes the SITE CREATOR attributes safe (line 2 and 3).
SITE_FILE = "# safe at this site\n(0029,xx01) SITE CREATOR\n(0029,xx02) SITE CREATOR\n"


def sample(path):
    ds = Dataset()
    ds.PatientName, ds.PatientID = "Doe^John", "PID-CANARY-1"
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.4", generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.add_new(0x04000115, "OB", b"CERT-CANARY-BYTES!")  # Certificate of Signer: D
    person = Dataset()
    person.CodeValue, person.CodingSchemeDesignator, person.CodeMeaning = "EMP-CANARY", "L", "Dr Doe"
    ds.PersonIdentificationCodeSequence = Sequence([person])  # D
    # Siemens (0019,xx0C) B value, in block 0x11 (not the usual 0x10): safe
    ds.add_new(0x00190011, "LO", "SIEMENS MR HEADER")
    ds.add_new(0x0019110C, "IS", "1000")
    ds.add_new(0x00191108, "LO", "PRIV-CANARY-SIEMENS")  # same creator, not safe
    # A site's own attribute, and a private sequence made safe by the site file
    ds.add_new(0x00290010, "LO", "SITE CREATOR")
    ds.add_new(0x00291001, "LO", "SITE-VALUE")
    item = Dataset()
    item.PatientName = "Doe^Jane"
    ds.add_new(0x00291002, "SQ", Sequence([item]))
    ds.add_new(0x00330010, "LO", "ACME")
    ds.add_new(0x00331001, "LO", "PRIV-CANARY-ACME")  # unsafe block: all removed
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.is_little_endian, ds.is_implicit_VR = True, False
    pydicom.dcmwrite(path, ds, write_like_original=False)
