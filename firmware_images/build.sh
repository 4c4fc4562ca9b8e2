#!/usr/bin/env bash
# Builds the sample OTA images (reproducible: the test PKI seed fixes the manufacturer key
# and the image bytes). Run from anywhere: ./firmware_images/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
emu="${SMETS2_EMU:-$here/../.venv/bin/smets2-emu}"
"$emu" firmware build "$here/esme-0124ABCD.ota" --image-type 1 --version 0124ABCD --label "ESME sample"
"$emu" firmware build "$here/gsme-0124ABCD.ota" --image-type 2 --version 0124ABCD --label "GSME sample"
"$emu" firmware build "$here/chf-0124ABCD.ota" --image-type 3 --version 0124ABCD --label "CHF sample"
