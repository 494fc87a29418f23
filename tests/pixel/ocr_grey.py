#!/usr/bin/python3
"""Grey burned-in text beside a white scale (tools/ocr_measure.py --dim 1):
~40 ultrasound and secondary-capture frames whose text is drawn at 40-70 %
of white, with a full-white depth scale and logo in the frame, and 10 clean
CT/MR frames. At half the brightest level such text was no ink, or faint
ink dropped as noise (37.7 % of the words found on this kind of set); the
grey text's own level is now found in the histogram and read as well.
Fails when the recall falls under 75 % or a clean frame has a word.
Usage: ocr_grey.py DQR WORKDIR"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
dqr, work = sys.argv[1], sys.argv[2]
sys.exit(subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "tools", "ocr_measure.py"), dqr, work,
                         "--us", "24", "--sc", "16", "--ct", "5", "--mr", "5", "--frames", "2", "--seed", "3",
                         "--dim", "1", "--min-recall", "0.75", "--max-fp", "0"]).returncode)
