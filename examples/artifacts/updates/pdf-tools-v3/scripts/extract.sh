#!/bin/sh
# Extract the text of a PDF (version 3).
exec pdftotext -layout "$@" -
