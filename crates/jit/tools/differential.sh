#!/usr/bin/env bash
# Compares the working tree's validator with the one at a git revision
# (default HEAD): identical results on the corpus, the bench functions and
# ITERATIONS mutated/random byte strings. Usage:
#   crates/jit/tools/differential.sh [REV] [ITERATIONS] [SEED]
# Run it for every change meant to keep behaviour (speed passes); see
# crates/jit/README.md. Needs cc/objcopy/nm for the bench corpus.
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
rev=${1:-HEAD}
iters=${2:-60000}
seed=${3:-11400714819323198485}
work=$(mktemp -d "${TMPDIR:-/tmp}/npk-jit-diff.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The old crate, renamed so both can be linked into one program.
mkdir -p "$work/old"
git -C "$root" archive "$rev" crates/jit | tar -x -C "$work/old"
old="$work/old/crates/jit"
iced=$(grep '^iced-x86' "$root/Cargo.toml" | sed 's/^iced-x86 *= *//')
cat > "$old/Cargo.toml" <<TOML
[package]
name = "npk-jit-old"
version = "0.0.0"
edition = "2024"
[lib]
name = "npk_jit_old"
path = "src/lib.rs"
[dependencies]
iced-x86 = $iced
TOML

mkdir -p "$work/diff"
cat > "$work/diff/Cargo.toml" <<TOML
[package]
name = "npk-jit-differential"
version = "0.0.0"
edition = "2024"
[[bin]]
name = "npk-jit-differential"
path = "$root/crates/jit/tools/differential.rs"
[dependencies]
npk-jit = { path = "$root/crates/jit" }
npk-jit-old = { path = "$old" }
iced-x86 = $iced
[profile.release]
debug-assertions = true
overflow-checks = true
[workspace]
TOML

# The bench's generated functions (it writes them, then measures).
(cd "$root" && NPK_BENCH_ONLY=generated NPK_BENCH_DUMP="$work/corpus.bin" \
    cargo bench -q -p npk-jit >/dev/null 2>&1) || {
    echo "differential.sh: the npk-jit bench failed (it writes the corpus)" >&2
    exit 2
}
cargo run -q --release --manifest-path "$work/diff/Cargo.toml" -- \
    "$root" "$work/corpus.bin" "$iters" "$seed"
