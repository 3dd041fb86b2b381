#!/bin/bash -eu
# ClusterFuzzLite build: one fuzzer per amc fuzz target (.clusterfuzzlite/fuzzers/<target>_fuzzer.py),
# each with its committed seed corpus (corpora/<target>/, findings excluded) and dictionary
# (corpora/<target>.dict). The data files the targets read at run time go into the bundle.
REPO="${REPO:-$SRC/attestmesh-conformance}"
cd "$REPO"

DATA=(
  --add-data "tests/fixtures/solidity_decoder_probe.json:tests/fixtures"
  --add-data "conformance/reference/account/artifacts:conformance/reference/account/artifacts"
  --add-data "conformance/profiles:conformance/profiles"
  --add-data "conformance/rules:conformance/rules"
  --collect-submodules conformance
)

for fuzzer in .clusterfuzzlite/fuzzers/*_fuzzer.py; do
  name=$(basename "$fuzzer" .py)
  target=${name%_fuzzer}
  compile_python_fuzzer "$fuzzer" "${DATA[@]}"
  find "corpora/$target" -maxdepth 1 -type f -print0 | xargs -0 zip -q -j "$OUT/${name}_seed_corpus.zip"
  cp "corpora/$target.dict" "$OUT/$name.dict"
done
