#!/usr/bin/env python3
"""Regenerates ../buffers.txt, the buffer corpus (issue 11), from the C files and
handwritten.asm in this folder. Run by hand (needs gcc and binutils); the .txt is
committed and is the source of truth for the tests.

Each C function is compiled twice, with `gcc -O1` and with `gcc -O2 -fno-tree-vectorize`
(plus FLAGS below: no stack protector, no CET, no unwind tables, no SIMD, no calls),
cut out of the object at its symbol boundaries (`nm -S`), checked to be self-contained
(no relocations, no calls, no SIMD), and written as corpus lines:

    HEX | SIGNATURE | VERDICT | loops,redzone  # [O1] name: why

preceded by its objdump listing as comment lines. The signature and verdict come from
`// npk NAME: SIGNATURE | VERDICT [| WHY]` lines in the C file; a function may have
several (a safe line, and unsafe lines giving the same code a signature that promises
less than it touches). VERDICT is `safe` (safe by construction: the validator should
accept it), `unsafe` (must be rejected; tests/buffer_corpus.rs shows it faulting next to
a PROT_NONE page) or `unsafe principle` (must be rejected; out of bounds in a way the
execution test cannot observe, the WHY says how).

handwritten.asm lines are `NAME | ASM | SIGNATURE | VERDICT [| WHY]` with `;` between
Intel-syntax instructions; they are assembled with `as --64` (see ../gen.py) and tagged
`[asm]`.
"""
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from gen import assemble  # noqa: E402  (the corpus's own GNU-as helper)

OUT = HERE.parent / "buffers.txt"
POLICY = "loops,redzone"
FLAGS = [
    "-fno-stack-protector", "-fcf-protection=none", "-fno-asynchronous-unwind-tables",
    "-fno-pic", "-mgeneral-regs-only",
    # Keep every function its own code: no memcpy/memset calls for copy loops, no
    # identical functions folded into a jump to another.
    "-fno-tree-loop-distribute-patterns", "-fno-ipa-icf",
]
LEVELS = [("O1", ["-O1"]), ("O2", ["-O2", "-fno-tree-vectorize"])]
ANNOTATION = re.compile(r"^// npk (\w+): ([^|]+)\|\s*(safe|unsafe principle|unsafe)\s*(?:\|(.*))?$")
FORBIDDEN = re.compile(r"\b(call|jmp\s+\*|xmm|ymm|rep|movs[bwdq]?\s|stos|syscall)\b")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def listing(code, d):
    """objdump's Intel listing of raw bytes: `offset: instruction` lines."""
    path = pathlib.Path(d, "f.bin")
    path.write_bytes(code)
    out = run("objdump", "-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel",
              "--no-show-raw-insn", str(path))
    lines = []
    for line in out.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
        if m:
            lines.append(f"{int(m.group(1), 16):4x}: {' '.join(m.group(2).split())}")
    return lines


def functions(obj, d):
    """name -> bytes of every global function in the object's .text."""
    text = pathlib.Path(d, "text.bin")
    run("objcopy", "-O", "binary", "--only-section=.text", str(obj), str(text))
    data = text.read_bytes()
    relocs = [int(m.group(1), 16) for m in
              re.finditer(r"^([0-9a-f]{8,16})\s", run("objdump", "-r", "-j", ".text", str(obj)), re.M)]
    out = {}
    for line in run("nm", "-S", "--defined-only", str(obj)).splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "Tt":
            addr, size, name = int(parts[0], 16), int(parts[1], 16), parts[3]
            if any(addr <= r < addr + size for r in relocs):
                sys.exit(f"{obj}: {name} has a relocation (not self-contained)")
            out[name] = data[addr:addr + size]
    return out


def line(code_hex, sig, verdict, tag, name, why):
    why = f": {why}" if why else ""
    return f"{code_hex} | {sig} | {verdict} | {POLICY}  # [{tag}] {name}{why}"


def c_lines(src, d):
    notes = {}
    for text in src.read_text().splitlines():
        if text.startswith("// npk"):
            m = ANNOTATION.match(text)
            if not m:
                sys.exit(f"{src}: bad annotation: {text}")
            name, sig, verdict, why = m.groups()
            notes.setdefault(name, []).append((sig.strip(), verdict, (why or "").strip()))
    out = []
    for tag, opts in LEVELS:
        obj = pathlib.Path(d, f"{src.stem}.{tag}.o")
        run("gcc", "-c", *opts, *FLAGS, "-o", str(obj), str(src))
        funcs = functions(obj, d)
        extra = set(funcs) - set(notes)
        if extra:
            sys.exit(f"{src}: functions without `// npk` lines: {sorted(extra)}")
        for name, annotations in notes.items():
            if name not in funcs:
                sys.exit(f"{src}: no function {name}")
            code = funcs[name]
            lst = listing(code, d)
            bad = [l for l in lst if FORBIDDEN.search(l)]
            if bad:
                sys.exit(f"{src}: {name} -{tag} uses {bad[0]!r}")
            out.append("")
            out.append(f"# {name}, gcc -{tag} ({src.name}, {len(code)} bytes)")
            out.extend(f"#   {l}" for l in lst)
            hexs = code.hex(" ")
            out.extend(line(hexs, sig, verdict, tag, name, why) for sig, verdict, why in annotations)
    return out


def asm_lines(src):
    out = []
    for text in src.read_text().splitlines():
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in text.split("|")]
        name, asm, sig, verdict = fields[:4]
        why = fields[4] if len(fields) > 4 else ""
        out.append("")
        out.append(f"# {name}, hand-written: {asm}")
        out.append(line(assemble(asm), sig, verdict, "asm", name, why))
    return out


def main():
    version = run("gcc", "--version").splitlines()[0]
    out = [
        "# Buffer corpus (issue 11): generated by buffers/gen_buffers.py, do not edit by hand.",
        f"# Compiler: {version}; flags: -O1 | -O2 -fno-tree-vectorize, plus {' '.join(FLAGS)}",
        "# Verdicts: safe (the validator should accept; counted by buffer_corpus_precision),",
        "# unsafe (must be rejected; faults next to a PROT_NONE page in tests/buffer_corpus.rs),",
        "# unsafe principle (must be rejected; out of bounds where no fault shows).",
    ]
    with tempfile.TemporaryDirectory() as d:
        for src in sorted(HERE.glob("*.c")):
            out.extend(c_lines(src, d))
        out.extend(asm_lines(HERE / "handwritten.asm"))
    OUT.write_text("\n".join(out) + "\n")
    print(f"wrote {OUT} ({sum(1 for l in out if l and not l.startswith('#'))} lines)")


if __name__ == "__main__":
    main()
