#!/usr/bin/env bash
# The integration files, longest first by test/integration-seconds.tsv (seconds and file, as a
# fresh-clone run's .test-times/integration.tsv has them; copy that file over to refresh it).
# With two files at a time, a long file started late runs on alone at the end: the phase then
# lasts longer than half its files' sum. A file the list does not know yet comes after those it
# knows, in name order.
set -euo pipefail
cd "$(dirname "$0")/../.."
find test -name '*.integration.test.ts' | sort \
  | awk -F'\t' 'NR == FNR { seconds[$2] = $1; next } { print (($0 in seconds) ? seconds[$0] : 0) "\t" $0 }' test/integration-seconds.tsv - \
  | sort -s -t$'\t' -k1,1gr | cut -f2
