#!/bin/sh
# Extract the text of a PDF (version 1).
exec pdftotext -layout "$1" -
