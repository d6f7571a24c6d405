//! Which registers and memory one instruction reads and writes, cheaply.
//!
//! In: a decoded [`Instruction`]. Out: the same register and memory lists
//! iced's [`InstructionInfoFactory`] reports (same entries, same order), which
//! the interpreter consumes. Building that info through the factory costs
//! more than decoding the instruction, so for plain operand forms of common
//! integer instructions the lists are rebuilt here from the operands alone:
//! every explicit operand is used with the access iced gives that operand
//! position, and nothing else is touched.
//!
//! Soundness does not rest on knowing iced's tables. The per-operand accesses
//! come from the factory itself: the first instruction of each *shape* (its
//! `Code`, which operands are memory, and whether the register operands
//! repeat, which is all that iced's special cases for these mnemonics look at)
//! goes through the factory, and the operand walk is compared with the
//! factory's answer. Only if they are identical is the shape marked plain and
//! walked from then on; otherwise it always uses the factory. Only
//! instructions without segment prefixes and with `[base64 (+ index64)]`
//! memory operands are walked, so iced's address-size, `rip`-relative and
//! segment special cases never arise. The unit test below compares the two on
//! every ModRM form of the walked opcodes.

use iced_x86::{
    CodeSize, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register,
    UsedMemory, UsedRegister,
};

use crate::interp::{is_cmovcc, is_direct_jump, is_setcc};

/// Most registers a walked instruction can report (three operands, each at
/// most two entries).
const MAX_REGS: usize = 8;
/// Most memory operands a walked instruction can report.
const MAX_MEMS: usize = 2;
/// Shape variants per `Code`: bits 0-1 "operand 0/1 is memory", bit 2
/// "operands 0 and 1 are the same register", bit 3 "operands 1 and 2 are".
const SHAPES: usize = 16;
/// `by_code` entry of a `Code` that is never walked.
const NEVER: u32 = u32::MAX;

/// What is known about one instruction shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Not seen yet.
    Unknown,
    /// Always ask the factory.
    Factory,
    /// The operand walk with these accesses equals the factory's answer.
    Plain {
        access: [OpAccess; 3],
        /// iced reports no segment for the memory operand (e.g. `lea`).
        no_segment: bool,
    },
}

/// Register and memory usage for instructions, with the factory as fallback.
pub(crate) struct Uses {
    factory: InstructionInfoFactory,
    /// `Code` → 1 + index of its first shape in `shapes`; 0 = none yet.
    by_code: Vec<u32>,
    shapes: Vec<Shape>,
    regs: [UsedRegister; MAX_REGS],
    n_regs: usize,
    mems: [UsedMemory; MAX_MEMS],
    n_mems: usize,
    /// `Code` → 1 + index into `fixed` of the factory's answer for its
    /// prefix-free, operand-free instructions; 0 = not seen, [`NEVER`] = too
    /// big to keep.
    fixed_by_code: Vec<u32>,
    fixed: Vec<Fixed>,
}

/// The factory's answer for an instruction without operands or legacy
/// prefixes (`ret`, `cqo`, `leave`, ...). It depends only on the `Code`:
/// with no operands and no prefixes there is nothing else it could read
/// (REX.W is part of the `Code`; the other REX bits only extend operands).
/// The unit test below checks this on every such opcode.
#[derive(Clone, Copy, Debug)]
struct Fixed {
    regs: [UsedRegister; MAX_REGS],
    n_regs: usize,
    mems: [UsedMemory; MAX_MEMS],
    n_mems: usize,
}

impl Uses {
    pub(crate) fn new() -> Uses {
        Uses {
            factory: InstructionInfoFactory::new(),
            by_code: Vec::new(),
            shapes: Vec::new(),
            regs: [UsedRegister::default(); MAX_REGS],
            n_regs: 0,
            mems: [UsedMemory::default(); MAX_MEMS],
            n_mems: 0,
            fixed_by_code: Vec::new(),
            fixed: Vec::new(),
        }
    }

    /// The registers and memory `ins` uses, exactly as iced's factory reports
    /// them.
    /// `no_legacy_prefix`: the instruction's first byte is not a legacy
    /// prefix (and so, as a REX before a legacy prefix is rejected earlier,
    /// it has none).
    pub(crate) fn of(
        &mut self,
        ins: &Instruction,
        m: Mnemonic,
        no_legacy_prefix: bool,
    ) -> (&[UsedRegister], &[UsedMemory]) {
        if no_legacy_prefix && ins.op_count() == 0 {
            let code = ins.code() as usize;
            if code >= self.fixed_by_code.len() {
                self.fixed_by_code.resize(code + 1, 0);
            }
            let at = self.fixed_by_code[code];
            if at != 0 && at != NEVER {
                let f = &self.fixed[at as usize - 1];
                return (&f.regs[..f.n_regs], &f.mems[..f.n_mems]);
            }
            let info = self.factory.info(ins);
            let (regs, mems) = (info.used_registers(), info.used_memory());
            if at == 0 {
                self.fixed_by_code[code] = if regs.len() <= MAX_REGS && mems.len() <= MAX_MEMS {
                    let mut f = Fixed {
                        regs: [UsedRegister::default(); MAX_REGS],
                        n_regs: regs.len(),
                        mems: [UsedMemory::default(); MAX_MEMS],
                        n_mems: mems.len(),
                    };
                    f.regs[..regs.len()].copy_from_slice(regs);
                    f.mems[..mems.len()].copy_from_slice(mems);
                    self.fixed.push(f);
                    self.fixed.len() as u32
                } else {
                    NEVER
                };
            }
            let info = self.factory.info(ins);
            return (info.used_registers(), info.used_memory());
        }
        let Some(slot) = self.slot(ins, m) else {
            let info = self.factory.info(ins);
            return (info.used_registers(), info.used_memory());
        };
        let shape = self.shapes[slot];
        match shape {
            Shape::Plain { access, no_segment } if self.walk(ins, access, no_segment) => {
                (&self.regs[..self.n_regs], &self.mems[..self.n_mems])
            }
            Shape::Unknown => {
                let info = self.factory.info(ins);
                let mut access = [OpAccess::None; 3];
                for (i, a) in access.iter_mut().enumerate() {
                    *a = info.op_access(i as u32);
                }
                let no_segment = info
                    .used_memory()
                    .first()
                    .is_some_and(|mem| mem.segment() == Register::None);
                let (regs, mems) = (info.used_registers(), info.used_memory());
                // Borrow juggling: copy the factory's answer before walking.
                let (mut fr, mut fm) = (
                    [UsedRegister::default(); MAX_REGS],
                    [UsedMemory::default(); MAX_MEMS],
                );
                let fits = regs.len() <= MAX_REGS && mems.len() <= MAX_MEMS;
                if fits {
                    fr[..regs.len()].copy_from_slice(regs);
                    fm[..mems.len()].copy_from_slice(mems);
                }
                let (nr, nm) = (regs.len(), mems.len());
                let same = fits
                    && self.walk(ins, access, no_segment)
                    && self.regs[..self.n_regs] == fr[..nr]
                    && self.mems[..self.n_mems] == fm[..nm];
                self.shapes[slot] = if same {
                    Shape::Plain { access, no_segment }
                } else {
                    Shape::Factory
                };
                let info = self.factory.info(ins);
                (info.used_registers(), info.used_memory())
            }
            _ => {
                let info = self.factory.info(ins);
                (info.used_registers(), info.used_memory())
            }
        }
    }

    /// The shape slot of `ins`, or `None` if it is never walked.
    fn slot(&mut self, ins: &Instruction, m: Mnemonic) -> Option<usize> {
        let code = ins.code() as usize;
        if code >= self.by_code.len() {
            self.by_code.resize(code + 1, 0);
        }
        if self.by_code[code] == 0 {
            // First sight of this `Code`: decide once whether it is walkable.
            self.by_code[code] = if walkable_code(ins, m) {
                let first = self.shapes.len() as u32 + 1;
                self.shapes
                    .resize(self.shapes.len() + SHAPES, Shape::Unknown);
                first
            } else {
                NEVER
            };
        }
        let first = self.by_code[code];
        if first == NEVER || !walkable_operands(ins) {
            return None;
        }
        let kind = |i| ins.op_kind(i);
        let same = |a, b| {
            kind(a) == OpKind::Register
                && kind(b) == OpKind::Register
                && ins.op_register(a) == ins.op_register(b)
        };
        let shape = usize::from(kind(0) == OpKind::Memory)
            | usize::from(kind(1) == OpKind::Memory) << 1
            | usize::from(same(0, 1)) << 2
            | usize::from(same(1, 2)) << 3;
        Some(first as usize - 1 + shape)
    }

    /// Rebuilds the lists from the operands; false if they do not fit.
    fn walk(&mut self, ins: &Instruction, access: [OpAccess; 3], no_segment: bool) -> bool {
        self.n_regs = 0;
        self.n_mems = 0;
        for i in 0..ins.op_count().min(3) {
            let mut a = access[i as usize];
            if a == OpAccess::None {
                continue;
            }
            match ins.op_kind(i) {
                OpKind::Register => {
                    if a == OpAccess::NoMemAccess {
                        a = OpAccess::Read;
                    }
                    if !self.add_register(ins.op_register(i), a) {
                        return false;
                    }
                }
                OpKind::Memory => {
                    let base = ins.memory_base();
                    let index = ins.memory_index();
                    if a != OpAccess::NoMemAccess {
                        if self.n_mems == MAX_MEMS {
                            return false;
                        }
                        let segment = if no_segment {
                            Register::None
                        } else {
                            ins.memory_segment()
                        };
                        self.mems[self.n_mems] = UsedMemory::new2(
                            segment,
                            base,
                            index,
                            ins.memory_index_scale(),
                            ins.memory_displacement64(),
                            ins.memory_size(),
                            a,
                            CodeSize::Code64,
                            0,
                        );
                        self.n_mems += 1;
                    }
                    if !self.add_register(base, OpAccess::Read) {
                        return false;
                    }
                    if index != Register::None && !self.add_register(index, OpAccess::Read) {
                        return false;
                    }
                }
                _ => {}
            }
        }
        true
    }

    /// iced's rule for one register operand in 64-bit mode: a write to a
    /// 32-bit register is a write of the whole 64-bit register (a
    /// read-write one reads the 32-bit register and writes the 64-bit one).
    fn add_register(&mut self, reg: Register, access: OpAccess) -> bool {
        let n = self.n_regs;
        if reg.is_gpr32() {
            let full = reg.full_register();
            let (first, second) = match access {
                OpAccess::ReadWrite => ((reg, OpAccess::Read), Some((full, OpAccess::Write))),
                OpAccess::ReadCondWrite => {
                    ((reg, OpAccess::Read), Some((full, OpAccess::CondWrite)))
                }
                OpAccess::Write | OpAccess::CondWrite => ((full, access), None),
                _ => ((reg, access), None),
            };
            if let Some((r2, a2)) = second {
                if n + 2 > MAX_REGS {
                    return false;
                }
                self.regs[n] = UsedRegister::new(first.0, first.1);
                self.regs[n + 1] = UsedRegister::new(r2, a2);
                self.n_regs = n + 2;
                return true;
            }
            if n == MAX_REGS {
                return false;
            }
            self.regs[n] = UsedRegister::new(first.0, first.1);
        } else {
            if n == MAX_REGS {
                return false;
            }
            self.regs[n] = UsedRegister::new(reg, access);
        }
        self.n_regs = n + 1;
        true
    }
}

/// Whether instructions with the `Code` of `ins` may be walked: a common
/// integer mnemonic without implicit operands of its own, at most three
/// operands (both depend only on the `Code`).
fn walkable_code(ins: &Instruction, m: Mnemonic) -> bool {
    use Mnemonic as M;
    let common = matches!(
        m,
        M::Mov
            | M::Movzx
            | M::Movsx
            | M::Movsxd
            | M::Lea
            | M::Add
            | M::Sub
            | M::Adc
            | M::Sbb
            | M::And
            | M::Or
            | M::Xor
            | M::Cmp
            | M::Test
            | M::Inc
            | M::Dec
            | M::Neg
            | M::Not
            | M::Shl
            | M::Shr
            | M::Sar
            | M::Rol
            | M::Ror
            | M::Imul
            | M::Xchg
            | M::Bswap
            | M::Nop
            | M::Jmp
    ) || is_direct_jump(m)
        || is_cmovcc(m)
        || is_setcc(m);
    common && ins.op_count() <= 3
}

/// Whether the operands of `ins` may be walked: no segment prefix, and
/// memory only as `[base64 (+ index64*scale) + disp]`.
fn walkable_operands(ins: &Instruction) -> bool {
    if ins.segment_prefix() != Register::None {
        return false;
    }
    let has_memory = (0..ins.op_count()).any(|i| ins.op_kind(i) == OpKind::Memory);
    !has_memory
        || (ins.memory_base().is_gpr64()
            && (ins.memory_index() == Register::None || ins.memory_index().is_gpr64()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions};

    /// Every instruction decoded from `bytes`, walked or not, must get the
    /// factory's exact answer, however the shapes were first seen.
    fn agree(uses: &mut Uses, bytes: &[u8]) -> usize {
        let mut factory = InstructionInfoFactory::new();
        let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
        let mut walked = 0;
        for ins in &mut decoder {
            if ins.is_invalid() {
                continue;
            }
            let info = factory.info(&ins);
            let first = bytes[ins.ip() as usize];
            let no_prefix = !matches!(
                first,
                0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65
            );
            let (regs, mems) = uses.of(&ins, ins.mnemonic(), no_prefix);
            assert_eq!(
                (regs, mems),
                (info.used_registers(), info.used_memory()),
                "{ins} ({:?})",
                ins.code()
            );
            walked += usize::from(matches!(
                uses.slot(&ins, ins.mnemonic()).map(|s| uses.shapes[s]),
                Some(Shape::Plain { .. })
            ));
        }
        walked
    }

    /// Instructions without operands or legacy prefixes get the factory's
    /// answer from the per-`Code` cache: every one- and two-byte opcode,
    /// behind the REX prefixes, whichever form is seen first.
    #[test]
    fn fixed_matches_factory_on_operand_free_opcodes() {
        let mut uses = Uses::new();
        let mut operand_free = 0;
        for rex in [&[][..], &[0x48], &[0x41], &[0x4f], &[0x40], &[0x44]] {
            for escape in [&[][..], &[0x0f]] {
                for op in 0..=255u8 {
                    let mut b = rex.to_vec();
                    b.extend_from_slice(escape);
                    b.extend_from_slice(&[op, 0xc0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
                    let ins = Decoder::with_ip(64, &b, 0, DecoderOptions::NONE).decode();
                    operand_free += usize::from(!ins.is_invalid() && ins.op_count() == 0);
                    agree(&mut uses, &b);
                }
            }
        }
        assert!(
            uses.fixed.len() > 40 && operand_free > 200,
            "{} cached, {operand_free} seen",
            uses.fixed.len()
        );
    }

    #[test]
    fn walk_matches_factory_on_operand_shapes() {
        // Opcodes of the walked mnemonics with every ModRM byte (all
        // register pairs, and memory forms with and without SIB), with and
        // without REX.W / REX.R / REX.B and 66, and an immediate tail.
        let mut uses = Uses::new();
        let mut walked = 0;
        let opcodes: &[&[u8]] = &[
            &[0x01],
            &[0x03],
            &[0x09],
            &[0x0b],
            &[0x11],
            &[0x13],
            &[0x19],
            &[0x1b],
            &[0x21],
            &[0x23],
            &[0x29],
            &[0x2b],
            &[0x31],
            &[0x33],
            &[0x39],
            &[0x3b],
            &[0x85],
            &[0x87],
            &[0x88],
            &[0x89],
            &[0x8a],
            &[0x8b],
            &[0x8d],
            &[0x63],
            &[0x69],
            &[0x6b],
            &[0x80],
            &[0x81],
            &[0x83],
            &[0xc1],
            &[0xd1],
            &[0xd3],
            &[0xc7],
            &[0xf7],
            &[0xff],
            &[0xfe],
            &[0x0f, 0xaf],
            &[0x0f, 0xb6],
            &[0x0f, 0xb7],
            &[0x0f, 0xbe],
            &[0x0f, 0xbf],
            &[0x0f, 0x44],
            &[0x0f, 0x4f],
            &[0x0f, 0x94],
            &[0x0f, 0x9c],
            &[0x0f, 0x1f],
        ];
        for prefix in [
            &[][..],
            &[0x48],
            &[0x4c],
            &[0x49],
            &[0x4d],
            &[0x66],
            &[0x41],
            &[0x44],
        ] {
            for op in opcodes {
                for modrm in 0..=255u8 {
                    let mut b = prefix.to_vec();
                    b.extend_from_slice(op);
                    // SIB 0x24 ([rsp]) / 0x0e ([rsi+rcx]) and an 8-byte tail
                    // covering any displacement and immediate.
                    b.extend_from_slice(&[
                        modrm, 0x0e, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x08,
                    ]);
                    walked += agree(&mut uses, &b);
                    b[prefix.len() + op.len() + 1] = 0x24;
                    walked += agree(&mut uses, &b);
                }
            }
        }
        // Register-only single-byte forms and short branches.
        for b in [
            0x40u8, 0x48, 0x50, 0x58, 0x90, 0x91, 0xc8, 0x70, 0x7f, 0xeb, 0xb8, 0xb0,
        ] {
            walked += agree(
                &mut uses,
                &[b, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
            );
            walked += agree(
                &mut uses,
                &[
                    0x48, b, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                ],
            );
        }
        // The walk must actually be in use, or this test proves nothing.
        assert!(walked > 10_000, "only {walked} instructions walked");
        let common: &[&[u8]] = &[
            &[0x01, 0xd8],                   // add eax, ebx
            &[0x48, 0x01, 0xd8],             // add rax, rbx
            &[0x31, 0xc0],                   // xor eax, eax
            &[0x29, 0xd0],                   // sub eax, edx
            &[0x48, 0x8b, 0x44, 0x24, 0x08], // mov rax, [rsp+8]
            &[0x48, 0x89, 0x7c, 0x24, 0xf8], // mov [rsp-8], rdi
            &[0x48, 0x8d, 0x04, 0x37],       // lea rax, [rdi+rsi]
            &[0x8d, 0x04, 0x37],             // lea eax, [rdi+rsi] (iced renames: factory)
            &[0x48, 0x39, 0xf7],             // cmp rdi, rsi
            &[0x0f, 0xaf, 0xc6],             // imul eax, esi
            &[0x0f, 0x94, 0xc0],             // sete al
            &[0x48, 0x0f, 0x4c, 0xc2],       // cmovl rax, rdx
            &[0x0f, 0xb6, 0x07],             // movzx eax, byte [rdi]
            &[0x48, 0xc1, 0xe0, 0x03],       // shl rax, 3
            &[0x48, 0xd3, 0xf8],             // sar rax, cl
            &[0x74, 0x00],                   // je
        ];
        let plain: Vec<bool> = common
            .iter()
            .map(|b| {
                agree(&mut uses, b);
                let ins = Decoder::with_ip(64, b, 0, DecoderOptions::NONE).decode();
                matches!(
                    uses.slot(&ins, ins.mnemonic()).map(|s| uses.shapes[s]),
                    Some(Shape::Plain { .. })
                )
            })
            .collect();
        let mut expected = vec![true; common.len()];
        expected[7] = false;
        assert_eq!(plain, expected);
    }
}
