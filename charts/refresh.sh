#!/usr/bin/env bash
# `make charts`: pulls every archive in charts.tsv again from its chart repository with helm.
# Each lands in a temporary folder first and replaces the committed archive only when the pull
# succeeded, so a failed or offline pull never empties the mirror.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v helm >/dev/null || { echo "charts: helm is not installed; install it, or keep the committed archives" >&2; exit 1; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
failed=0
while IFS=$'\t' read -r archive source version _; do
  [[ -z "$archive" || "$archive" == \#* ]] && continue
  read -r repo chart <<<"$source"
  if [[ "$repo" == oci://* ]]; then args=("$repo"); else args=("$chart" --repo "$repo"); fi
  if helm pull "${args[@]}" --version "$version" -d "$tmp" >/dev/null && [[ -f "$tmp/$archive" ]]; then
    mv "$tmp/$archive" "$here/$archive"; echo "charts: $archive refreshed"
  else
    echo "charts: $archive: pull failed; the committed archive stays" >&2; failed=1
  fi
done <"$here/charts.tsv"
exit "$failed"
