#!/usr/bin/env python3
"""Regenerates <name>.txt from <name>.src (optional helper; the .txt files are the corpus).

A .src line is `ASM | SIG | VERDICT [| POLICY]` where ASM is GNU-as Intel syntax with `;`
between instructions, or `hex: 0f 05 ...` for raw bytes. The .txt line gets the hex bytes
in place of ASM and keeps the assembly as a trailing `# comment`.
"""
import pathlib, subprocess, sys, tempfile

def assemble(asm):
    with tempfile.TemporaryDirectory() as d:
        src = pathlib.Path(d, "a.s")
        src.write_text(".intel_syntax noprefix\n" + asm.replace(";", "\n") + "\n")
        subprocess.run(["as", "--64", "-o", f"{d}/a.o", str(src)], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", f"{d}/a.o", f"{d}/a.bin"], check=True)
        return " ".join(f"{b:02x}" for b in pathlib.Path(d, "a.bin").read_bytes())

def main():
    for path in sys.argv[1:] or sorted(map(str, pathlib.Path(__file__).parent.glob("*.src"))):
        out = []
        for line in pathlib.Path(path).read_text().splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                out.append(line)
                continue
            asm, rest = line.split("|", 1)
            asm = asm.strip()
            if asm.startswith("hex:"):
                hexs, comment = asm[4:].strip(), ""
            else:
                hexs, comment = (assemble(asm) if asm else ""), asm
            fields = [hexs] + [f.strip() for f in rest.split("|")]
            out.append(" | ".join(fields) + (f"  # {comment}" if comment else ""))
        pathlib.Path(path).with_suffix(".txt").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
