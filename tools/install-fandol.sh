#!/usr/bin/env bash
# Installs the Fandol fonts (FandolFang 仿宋, FandolSong 宋体, FandolKai 楷体; GPL with font exception) system-wide.
# Debian ships them only inside texlive-lang-chinese: download that package, extract the fonts, nothing else.
set -euo pipefail
target=/usr/local/share/fonts/fandol
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
chmod 777 "$work"
if ! apt-get download texlive-lang-chinese >/dev/null 2>&1; then
  apt-get update -qq
  apt-get download texlive-lang-chinese >/dev/null
fi
dpkg-deb --fsys-tarfile texlive-lang-chinese_*.deb \
  | tar -x --wildcards './usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/Fandol*-*.otf'
mkdir -p "$target"
cp usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/Fandol{Fang,Song,Kai,Hei}-*.otf "$target/"
command -v fc-cache >/dev/null && fc-cache -f "$target" >/dev/null || true
echo "Fandol fonts installed in $target"
