#!/usr/bin/python3
"""CI version of the OCR measurement (tools/ocr_measure.py): ~50 frames with
planted PHI (ultrasound and secondary captures in native, RLE, JPEG
Baseline and JPEG-LS) and 20 clean CT/MR frames; fails when the recall of
planted words falls below 99 % or any clean frame has a word.
Usage: ocr_detect.py DQR WORKDIR"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
dqr, work = sys.argv[1], sys.argv[2]
sys.exit(subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "tools", "ocr_measure.py"), dqr, work,
                         "--us", "24", "--sc", "20", "--ct", "10", "--mr", "10", "--frames", "3", "--seed", "11",
                         "--min-recall", "0.99", "--max-fp", "0"]).returncode)
