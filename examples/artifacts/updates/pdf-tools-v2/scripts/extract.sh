#!/bin/sh
# Extract the text of a PDF (version 2).
exec pdftotext -layout "$@" -
