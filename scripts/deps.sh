#!/usr/bin/env bash
# Installs the Debian packages r1 needs to build and test, if missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
# Node.js/npm are test peers only (the reference tokenizer, the openai client);
# OpenMPI builds `make MPI=1` and runs the mpirun equivalence test.
set -eu
need=(build-essential libcjson-dev libpcre2-dev libmicrohttpd-dev libopenmpi-dev openmpi-bin nodejs npm)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere (nvm, a tarball): accept working commands.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]:-}"
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  $cmd
else
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run: sudo $cmd" >&2
  exit 1
fi
