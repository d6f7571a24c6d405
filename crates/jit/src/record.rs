//! What is known about an instruction before any path reaches it, computed
//! once per *key* and lowered into a compact [`Op`] per instruction.
//!
//! In: a decoded [`Instruction`]. Out: its [`Rec`] (classifier verdict, flow,
//! the fast form it may take, its arithmetic flags) and its [`Op`], the
//! record plus the operands the fixpoint needs, so that stepping an
//! instruction costs one dispatch on `Op::form` instead of a chain of
//! lookups on the iced instruction.
//!
//! A key is the instruction's `Code` and whether operand 0 is memory,
//! operand 1 is memory, and operands 0 and 1 are the same register. Each
//! cached fact depends on no more than that: iced fixes mnemonic, flow
//! control, privilege, register classes and memory size by `Code`, and its
//! flags by `Code` except for shifts by an immediate (taken per instruction,
//! never cached) and the zero idioms (`same`). The keys refine those of the
//! caches this table replaced (classifier verdict per `Code` and operand 0
//! memory; flags per `Code` and `same`).
//!
//! A fast form is used only if iced's own register and memory lists for it
//! equal the form's template ([`Form::template`]): checked with the
//! [`InstructionInfoFactory`] on the first instruction of each key (and
//! whether its template registers repeat) that passes the form's operand
//! checks, and remembered. Soundness does not rest on the templates.

use iced_x86::{
    Code, CodeSize, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind,
    Register,
};

use crate::classify::{Verdict, code_verdict};
use crate::cpu::CpuFeatures;
use crate::fast::{Form, Head, NO_REG, Op, form_of};
use crate::interp::{self, Flags, imm, is_direct_jump, is_shift, read_width};

/// Where control goes after an instruction, as the driver needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Flow {
    /// The next instruction (also every rejected flow kind: such code never
    /// reaches the fixpoint).
    #[default]
    Next,
    /// `jmp`.
    Jump,
    /// `jcc`, `loop`, `jrcxz`: the target or the next instruction.
    CondJump,
    /// A direct call: the next instruction, after the callee.
    Call,
    /// `ret`.
    Return,
}

impl Flow {
    /// Whether [`crate::validate()`]'s block builder looks at the instruction.
    pub(crate) fn is_transfer(self) -> bool {
        self != Flow::Next
    }
}

/// [`Rec::facts`] bits: `div`/`idiv`; a string copy or fill; an indexed
/// memory operand the value domain must prove.
pub(crate) const FACT_DIVISION: u8 = 1;
pub(crate) const FACT_STRING: u8 = 2;
pub(crate) const FACT_INDEXED: u8 = 4;
/// [`Rec::facts`] bit: the form's operand 1 is a register (else an
/// immediate or none).
const FACT_OP1_REG: u8 = 8;
/// [`Rec::facts`] bit: the flags are taken per instruction (a shift by an
/// immediate), not from the head.
const FACT_SHIFT_FLAGS: u8 = 16;

/// `tmpl` entry: template not compared yet.
const UNCHECKED: u8 = 0;
/// `tmpl` entry: iced's lists differ from the template.
const DIFFERS: u8 = 1;
/// `tmpl` entry: iced's lists equal the template.
const EQUAL: u8 = 2;

/// The cached facts of one key (16 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rec {
    /// The key's `Op` before its operands: the candidate fast form (before
    /// operand checks) or [`Form::Generic`], the flow, the width and the
    /// arithmetic flags (unless [`FACT_SHIFT_FLAGS`]); `r0` 0, `r1`
    /// [`NO_REG`].
    head: Head,
    /// [`Verdict::Unknown`] until the record is computed.
    pub(crate) verdict: Verdict,
    /// CPU extensions the instruction needs.
    pub(crate) cpu: CpuFeatures,
    /// How [`Records::lower`] reads the key's operands.
    plan: Plan,
    /// [`FACT_DIVISION`] and [`FACT_STRING`] as they hold for the key, and
    /// [`FACT_INDEXED`] if an index register in its memory operand means
    /// an access the value domain must prove (every mnemonic but `lea` and
    /// `nop`); [`FACT_OP1_REG`], [`FACT_SHIFT_FLAGS`].
    pub(crate) facts: u8,
    /// Template comparison, indexed by whether the form's two registers are
    /// the same one (bit 0) and whether the instruction took a variant of
    /// the key's form (bit 1: `lea` with an index).
    tmpl: [u8; 4],
}

const _: () = assert!(size_of::<Rec>() == 16);

impl Rec {
    /// Where control goes after the key's instructions.
    #[inline]
    pub(crate) fn flow(&self) -> Flow {
        self.head.flow
    }

    /// The key's `Op` before its operands (what [`Records::lower_into`]
    /// starts from).
    #[inline]
    pub(crate) fn op(&self) -> Op {
        Op {
            head: self.head,
            k: 0,
        }
    }

    /// The candidate fast form.
    #[inline]
    fn form(&self) -> Form {
        self.head.form
    }

    /// Whether the form's operand 1 is a register.
    #[inline]
    fn op1_reg(&self) -> bool {
        self.facts & FACT_OP1_REG != 0
    }

    /// Whether the flags are taken per instruction.
    #[inline]
    fn flags_per_instruction(&self) -> bool {
        self.facts & FACT_SHIFT_FLAGS != 0
    }

    /// A string copy or fill ([`crate::classify::is_string`]).
    #[inline]
    pub(crate) fn string(&self) -> bool {
        self.facts & FACT_STRING != 0
    }
}

/// How [`Records::lower`] reads a key's operands: for the register forms
/// most code consists of, straight from the instruction (one dispatch);
/// for the rest through [`operands`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Plan {
    /// Through [`operands`] (or no fast form at all).
    #[default]
    General,
    /// The form's operands 0 and 1 are registers of the classes
    /// [`classes_ok`] asks for once the template slot holds (a form other
    /// than [`Form::Widen`] and [`Form::ShiftCl`], whose operand 1 is a
    /// register for every instruction of the key).
    RegReg,
    /// Operand 0 is a register and the form has no operand-1 register (an
    /// immediate, a shift count or nothing).
    Reg,
    /// `nop` or `ret`, whose operands are constants (`rsp` alone, template
    /// slot 0, already in the head's `r0`): once their template is known to
    /// hold, the head is the `Op` (for `ret` without a legacy prefix; iced
    /// reports no register or memory use for any `nop`, so prefixed padding
    /// takes it too).
    Fixed,
    /// [`Form::Store`], [`Form::Load`] or [`Form::Lea`]: one register
    /// operand (of the classes [`classes_ok`] asks for once the template
    /// slot holds) and one memory operand, taken when it is `[base64 +
    /// disp]` (no index).
    Mem,
}

/// The record table and the iced helper it is filled with.
///
/// Two levels, so the records in use sit together: `group[code]` is the
/// group of [`KEYS_PER_CODE`] records in `table` that a `Code`'s keys use
/// (group 0, never filled, stands for every `Code` not seen yet). A table
/// indexed by key directly spans every `Code` (over 600 KB) while a
/// validation touches a few dozen keys, each on its own page.
pub(crate) struct Records {
    /// Indexed by every `Code`: no bounds test (a `Code` is below
    /// [`CODES`]).
    group: Box<[u16; CODES]>,
    table: Vec<Rec>,
    factory: InstructionInfoFactory,
}

/// How many `Code`s iced has (its last one plus one; a test checks it
/// against `Code::values`).
const CODES: usize = Code::VEX_Vsm3rnds2_xmm_xmm_xmmm128_imm8 as usize + 1;

/// Keys per `Code` (the three operand bits of [`Records::key`]).
const KEYS_PER_CODE: usize = 8;

impl Records {
    pub(crate) fn new() -> Records {
        Records {
            group: Box::new([0; CODES]),
            table: vec![Rec::default(); KEYS_PER_CODE],
            factory: InstructionInfoFactory::new(),
        }
    }

    /// Where `key`'s record is (or would be) in `table`.
    #[inline]
    fn slot(&self, key: usize) -> usize {
        let g = usize::from(self.group[key / KEYS_PER_CODE]);
        g * KEYS_PER_CODE + key % KEYS_PER_CODE
    }

    /// The key of `ins` (index into the table). Its low bit says the two
    /// operand register fields are equal: iced sets an operand's register
    /// field only for a register operand (`None` otherwise), so no kind test
    /// is needed; two `None` fields set it too, and such a key's record is
    /// the one the bit clear gives (`key_is_the_operand_kind_rule`).
    #[inline]
    pub(crate) fn key(ins: &Instruction) -> usize {
        let k0 = ins.op0_kind();
        let k1 = ins.op1_kind();
        let r0 = ins.op0_register();
        let same = r0 == ins.op1_register();
        (ins.code() as usize) << 3
            | usize::from(k0 == OpKind::Memory) << 2
            | usize::from(k1 == OpKind::Memory) << 1
            | usize::from(same)
    }

    /// The record of `key`, computed from `ins` (an instruction with that
    /// key) the first time.
    #[inline]
    pub(crate) fn get(&mut self, key: usize, ins: &Instruction) -> Rec {
        match self.table.get(self.slot(key)) {
            Some(rec) if rec.verdict != Verdict::Unknown => *rec,
            _ => self.fill(key, ins),
        }
    }

    #[cold]
    #[inline(never)]
    fn fill(&mut self, key: usize, ins: &Instruction) -> Rec {
        let code = key / KEYS_PER_CODE;
        if self.group[code] == 0 {
            // At most one group per `Code` (under 5,000 of them).
            self.group[code] = (self.table.len() / KEYS_PER_CODE) as u16;
            self.table
                .resize(self.table.len() + KEYS_PER_CODE, Rec::default());
        }
        let rec = compute(ins, key & 1 != 0);
        let slot = self.slot(key);
        self.table[slot] = rec;
        rec
    }

    /// `ins` lowered for the fixpoint. `rec` is [`Records::get`] of its
    /// `key`; `no_legacy_prefix` says its first byte is not a legacy prefix.
    #[cfg(test)]
    pub(crate) fn lower(
        &mut self,
        key: usize,
        rec: Rec,
        ins: &Instruction,
        no_legacy_prefix: bool,
    ) -> Op {
        let mut op = rec.op();
        self.lower_into(key, &rec, ins, no_legacy_prefix, &mut op);
        op
    }

    /// [`Records::lower`] into `op`, which holds `rec.op()` (pushed where
    /// it is kept: the key's head is copied whole, then the registers are
    /// written into it).
    #[inline]
    pub(crate) fn lower_into(
        &mut self,
        key: usize,
        rec: &Rec,
        ins: &Instruction,
        no_legacy_prefix: bool,
        op: &mut Op,
    ) {
        if rec.flags_per_instruction() {
            op.flags = flag_bytes(Flags::of(ins));
        }
        // The register forms whose template slot is known to hold: what the
        // general path below gives them (`plan_lowering_is_the_general_one`).
        // A slot not compared yet or differing goes the general way.
        match rec.plan {
            Plan::RegReg if no_legacy_prefix => {
                let (r0, r1) = (ins.op0_register(), ins.op1_register());
                if rec.tmpl[usize::from(r0 == r1)] == EQUAL {
                    op.r0 = gpr32_or_64(r0);
                    op.r1 = gpr32_or_64(r1);
                    return;
                }
            }
            Plan::Reg if no_legacy_prefix && rec.tmpl[0] == EQUAL => {
                op.r0 = gpr32_or_64(ins.op0_register());
                return;
            }
            Plan::Fixed
                if rec.tmpl[0] == EQUAL && (no_legacy_prefix || rec.form() == Form::Nop) =>
            {
                return;
            }
            Plan::Mem if no_legacy_prefix => {
                let base = ins.memory_base();
                // The register operand: the other operand is memory, its
                // register field `None` (0).
                let r = ins.op0_register() as u32 | ins.op1_register() as u32;
                if ins.memory_index() == Register::None
                    && is_gpr64(base)
                    && rec.tmpl[usize::from(r == base as u32)] == EQUAL
                {
                    op.r0 = ((r.wrapping_sub(Register::EAX as u32)) & 15) as u8;
                    op.r1 = gpr32_or_64(base);
                    op.k = ins.memory_displacement64() as i64;
                    return;
                }
            }
            _ => {}
        }
        op.form = Form::Generic;
        op.r0 = 0;
        self.lower_general(key, rec, ins, no_legacy_prefix, op)
    }

    /// [`Records::lower`] through [`operands`]: every form, every key.
    #[inline]
    fn lower_general(
        &mut self,
        key: usize,
        rec: &Rec,
        ins: &Instruction,
        no_legacy_prefix: bool,
        op: &mut Op,
    ) {
        match rec.form() {
            Form::Generic => return,
            // What the generic step does for direct jumps does not depend on
            // prefixes (only the flags they read matter).
            Form::Jump => {
                op.form = Form::Jump;
                return;
            }
            // The operands of `ret` and `nop` are constants (`rsp` alone,
            // template slot 0): once their template is known to hold, the
            // form is taken as is (the path below gives the same).
            Form::Nop | Form::Ret
                if rec.tmpl[0] == EQUAL && (no_legacy_prefix || rec.form() == Form::Nop) =>
            {
                op.form = rec.form();
                op.r0 = gpr(Register::RSP);
                return;
            }
            // iced reports no register or memory use for any `nop` (the unit
            // tests check every encoding behind every prefix), so prefixed
            // padding takes the fast path too.
            Form::Nop => {}
            _ if !no_legacy_prefix => return,
            _ => {}
        }
        let Some(o) = operands(rec.form(), rec.op1_reg(), ins) else {
            return;
        };
        // Template comparisons are kept per key, per whether the form's two
        // registers are the same one and per operand shape (`lea` with or
        // without an index).
        let slot = usize::from(o.r1 == o.r0) | usize::from(o.form != rec.form()) << 1;
        let mut tmpl = rec.tmpl[slot];
        if tmpl == UNCHECKED {
            // The register classes are tested here, once per key and slot
            // (not per instruction): see [`classes_ok`].
            tmpl = if classes_ok(&o)
                && self.template_holds(o.form, rec.head.width, o.r0, some(o.r1), some(o.r2), ins)
            {
                EQUAL
            } else {
                DIFFERS
            };
            let at = self.slot(key);
            self.table[at].tmpl[slot] = tmpl;
        }
        if tmpl == EQUAL {
            op.form = o.form;
            // A 32- or 64-bit register ([`classes_ok`] held for the slot).
            op.r0 = gpr32_or_64(o.r0);
            op.r1 = if o.r1 == Register::None {
                NO_REG
            } else {
                gpr(o.r1)
            };
            op.k = o.k;
            if o.form == Form::Widen {
                op.width = if o.r1 == Register::None {
                    8
                } else {
                    read_width(o.r1)
                };
            }
        }
    }

    /// Whether iced's register and memory lists for `ins` are `form`'s
    /// template.
    #[cold]
    #[inline(never)]
    fn template_holds(
        &mut self,
        form: Form,
        width: u8,
        r0: Register,
        r1: Option<Register>,
        r2: Option<Register>,
        ins: &Instruction,
    ) -> bool {
        let info = self.factory.info(ins);
        let (t, n) = form.template(width, r0, r1, r2);
        let mems_ok = match form {
            // `step` ignores the memory `ret` reads (it only checks the state).
            Form::Ret => true,
            Form::Store | Form::Load | Form::LoadIndexed => {
                let access = if form == Form::Store {
                    OpAccess::Write
                } else {
                    OpAccess::Read
                };
                matches!(info.used_memory(), [m] if m.base() == ins.memory_base()
                    && m.index() == ins.memory_index()
                    && (form != Form::LoadIndexed || m.scale() == ins.memory_index_scale())
                    && m.displacement() == ins.memory_displacement64()
                    && m.memory_size().size() == 8
                    && m.access() == access
                    && m.address_size() == CodeSize::Code64)
            }
            _ => info.used_memory().is_empty(),
        };
        mems_ok && info.used_registers() == &t[..n]
    }
}

/// Register-file index of a general-purpose register, as `Op` keeps it
/// ([`interp::gpr`]; for 32- and 64-bit registers, the usual case, without
/// its table lookup: iced numbers `eax..r15d` then `rax..r15` in order).
#[inline]
fn gpr(r: Register) -> u8 {
    if is_gpr32_or_64(r) {
        gpr32_or_64(r)
    } else {
        interp::gpr(r) as u8
    }
}

/// [`gpr`] of a register known to be a 32- or 64-bit one.
#[inline]
fn gpr32_or_64(r: Register) -> u8 {
    ((r as u32).wrapping_sub(Register::EAX as u32) & 15) as u8
}

fn flag_bytes(f: Flags) -> [u8; 3] {
    // The arithmetic flags are iced's low six bits.
    [f.read as u8, f.modified as u8, f.undefined as u8]
}

const _: () = assert!(crate::state::ARITH_FLAGS == 0x3f);

fn compute(ins: &Instruction, same: bool) -> Rec {
    let m = ins.mnemonic();
    let flow = match ins.flow_control() {
        FlowControl::UnconditionalBranch => Flow::Jump,
        FlowControl::ConditionalBranch => Flow::CondJump,
        FlowControl::Call | FlowControl::IndirectCall => Flow::Call,
        FlowControl::Return => Flow::Return,
        _ => Flow::Next,
    };
    let flags_per_instruction = is_shift(m) && flags_vary_with_count(ins);
    let (form, width, op1_reg) = if is_direct_jump(m) {
        (Form::Jump, 0, false)
    } else {
        match form_of(ins.code()) {
            Some((form, width, op1_reg)) => {
                (refine(form, width, op1_reg, same, ins), width, op1_reg)
            }
            None => (Form::Generic, 0, false),
        }
    };
    let verdict = code_verdict(ins);
    let string = crate::classify::is_string(ins);
    let reg = |k: OpKind| k == OpKind::Register;
    let plan = match form {
        Form::Alu | Form::Compare | Form::Zero | Form::Move | Form::CondMove
            if op1_reg && reg(ins.op0_kind()) && reg(ins.op1_kind()) =>
        {
            Plan::RegReg
        }
        Form::Alu | Form::Compare | Form::Shift | Form::MoveImm
            if !op1_reg && reg(ins.op0_kind()) =>
        {
            Plan::Reg
        }
        Form::Store | Form::Load | Form::Lea => Plan::Mem,
        Form::Nop | Form::Ret => Plan::Fixed,
        _ => Plan::General,
    };
    let indexed_access = !matches!(m, Mnemonic::Lea | Mnemonic::Nop);
    Rec {
        head: Head {
            form,
            flow,
            width,
            r0: if plan == Plan::Fixed {
                gpr(Register::RSP)
            } else {
                0
            },
            r1: NO_REG,
            flags: flag_bytes(Flags::of(ins)),
        },
        verdict,
        cpu: crate::cpu::required(ins).unwrap_or_default(),
        plan,
        facts: (u8::from(verdict == Verdict::Division) * FACT_DIVISION)
            | (u8::from(string) * FACT_STRING)
            | (u8::from(indexed_access) * FACT_INDEXED)
            | (u8::from(op1_reg) * FACT_OP1_REG)
            | (u8::from(flags_per_instruction) * FACT_SHIFT_FLAGS),
        tmpl: [UNCHECKED; 4],
    }
}

/// Whether iced's flags for `ins` depend on its immediate byte (a shift by
/// an immediate: a count of 0 or 1 changes them). iced derives an
/// instruction's flags from its `Code`, the zero idioms' operands (part of
/// the key) and that byte alone, so a shift whose flags are the same for
/// every byte (by `cl` or by 1) keeps them in its record.
#[cold]
fn flags_vary_with_count(ins: &Instruction) -> bool {
    let flags = Flags::of(ins);
    let mut probe = *ins;
    (0..=u8::MAX).any(|b| {
        probe.set_immediate8(b);
        Flags::of(&probe) != flags
    })
}

/// The form a key takes: the memory variants of 64-bit moves, the zero
/// idioms and pointer arithmetic by an immediate are forms of their own.
fn refine(form: Form, width: u8, op1_reg: bool, same: bool, ins: &Instruction) -> Form {
    let c = ins.code();
    match form {
        Form::Ret | Form::Nop | Form::SignExtendAcc => form,
        Form::Move if width == 8 => match (ins.op0_kind(), ins.op1_kind()) {
            (OpKind::Memory, OpKind::Register) => Form::Store,
            (OpKind::Register, OpKind::Memory) => Form::Load,
            (OpKind::Register, _) => Form::Move,
            _ => Form::Generic,
        },
        _ if ins.op0_kind() != OpKind::Register => Form::Generic,
        Form::Alu if same && is_xor_or_sub(c) => Form::Zero,
        Form::Alu if !op1_reg && width == 8 && is_add(c) => Form::AddImm,
        Form::Alu if !op1_reg && width == 8 && is_sub(c) => Form::SubImm,
        f => f,
    }
}

/// The operands a fast form reads from one instruction.
struct Operands {
    /// The form, or its variant for this instruction.
    form: Form,
    r0: Register,
    /// Operand 1's register or the memory base ([`Register::None`]: none).
    r1: Register,
    /// The index of an indexed `lea` ([`Register::None`] otherwise).
    r2: Register,
    /// The immediate or displacement (or the index's register-file index).
    k: i64,
}

/// Operand checks of a fast form on one instruction that vary within a
/// key: the memory operand (base, index) and the immediate or
/// displacement. The register classes are [`classes_ok`]'s.
#[inline]
fn operands(form: Form, op1_reg: bool, ins: &Instruction) -> Option<Operands> {
    const NONE: Register = Register::None;
    let base = ins.memory_base();
    let index = ins.memory_index();
    let mem_ok = || index == NONE && base.is_gpr64();
    let disp = || ins.memory_displacement64() as i64;
    let (form, r0, r1, r2, k) = match form {
        Form::Ret | Form::Nop => (form, Register::RSP, NONE, NONE, 0),
        Form::SignExtendAcc => {
            let rax = if ins.code() == Code::Cqo {
                Register::RAX
            } else {
                Register::EAX
            };
            (form, Register::RDX, rax, NONE, 0)
        }
        Form::Divide if ins.op0_kind() == OpKind::Register => {
            (form, Register::RAX, ins.op0_register(), NONE, 0)
        }
        Form::Store if mem_ok() => (form, ins.op1_register(), base, NONE, disp()),
        Form::Load | Form::Lea if mem_ok() => (form, ins.op0_register(), base, NONE, disp()),
        // Through an index: three distinct 64-bit registers (the template
        // is checked once per key, so the registers must not coincide).
        Form::Lea | Form::Load => {
            let r0 = ins.op0_register();
            let distinct = r0 != base && r0 != index && base != index;
            if !(base.is_gpr64() && index.is_gpr64() && distinct) {
                return None;
            }
            if form == Form::Lea {
                (Form::LeaIndexed, r0, base, index, i64::from(gpr(index)))
            } else {
                (Form::LoadIndexed, r0, base, index, disp())
            }
        }
        Form::Store | Form::Divide => return None,
        Form::AddImm => (form, ins.op0_register(), NONE, NONE, imm(ins, 1)?),
        Form::SubImm => (
            form,
            ins.op0_register(),
            NONE,
            NONE,
            imm(ins, 1)?.checked_neg()?,
        ),
        _ if !op1_reg => (form, ins.op0_register(), NONE, NONE, 0),
        _ if ins.op1_kind() != OpKind::Register => return None,
        _ => (form, ins.op0_register(), ins.op1_register(), NONE, 0),
    };
    Some(Operands {
        form,
        r0,
        r1,
        r2,
        k,
    })
}

/// Whether the operands' registers are of the classes the fast form
/// handles: operand 0 a 32- or 64-bit general register, operand 1 too (a
/// byte, word or dword register for [`Form::Widen`], `cl` for
/// [`Form::ShiftCl`]).
///
/// The same for every instruction of a key whose [`operands`] pass, so
/// [`Records::lower`] tests it once per key and template slot: each
/// register here is a constant, the memory base (already a 64-bit register
/// by `operands`' memory test), or an operand register of a `Code` whose
/// operand kinds the key fixes, and iced fixes such a register's class by
/// `Code` (`r64`, `r/m32`, `cl`, ...).
fn classes_ok(o: &Operands) -> bool {
    let r1_ok = o.r1 == Register::None
        || match o.form {
            Form::ShiftCl => o.r1 == Register::CL,
            Form::Widen => o.r1.is_gpr8() || o.r1.is_gpr16() || o.r1.is_gpr32(),
            _ => is_gpr32_or_64(o.r1),
        };
    is_gpr32_or_64(o.r0) && r1_ok
}

/// `Some(r)` unless `r` is [`Register::None`].
fn some(r: Register) -> Option<Register> {
    (r != Register::None).then_some(r)
}

/// `r.is_gpr64()` in one range test.
#[inline]
fn is_gpr64(r: Register) -> bool {
    (Register::RAX as u32..=Register::R15 as u32).contains(&(r as u32))
}

/// `r.is_gpr32() || r.is_gpr64()` in one range test.
#[inline]
fn is_gpr32_or_64(r: Register) -> bool {
    (Register::EAX as u32..=Register::R15 as u32).contains(&(r as u32))
}

const _: () = assert!(
    Register::R15D as u32 + 1 == Register::RAX as u32
        && Register::R15D as u32 - Register::EAX as u32 == 15
        && Register::R15 as u32 - Register::RAX as u32 == 15
);

fn is_xor_or_sub(c: Code) -> bool {
    matches!(
        c,
        Code::Xor_rm64_r64
            | Code::Xor_r64_rm64
            | Code::Xor_rm32_r32
            | Code::Xor_r32_rm32
            | Code::Sub_rm64_r64
            | Code::Sub_r64_rm64
            | Code::Sub_rm32_r32
            | Code::Sub_r32_rm32
    )
}

fn is_add(c: Code) -> bool {
    matches!(c, Code::Add_rm64_imm8 | Code::Add_rm64_imm32)
}

fn is_sub(c: Code) -> bool {
    matches!(c, Code::Sub_rm64_imm8 | Code::Sub_rm64_imm32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Records::key`]'s "same register" bit is the register fields'
    /// equality alone: iced clears the instruction before decoding into it
    /// and sets an operand's register field only for a register operand, so
    /// two equal fields other than `None` are two equal register operands
    /// (the kind rule, checked here). Two `None` fields set the bit too (no
    /// second register operand, or neither is a register): whether a field is
    /// `None` is fixed by the `Code` and the key's memory bits (checked over
    /// every decode), so such a key holds no instruction with real equal
    /// registers, and its record is the one the bit clear gives (`same` only
    /// makes a zero idiom of `xor`/`sub` with operand 0 a register).
    #[test]
    fn key_is_the_operand_kind_rule() {
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        let mut ins = Instruction::default();
        let (mut same, mut none) = (0, 0);
        // Per `Code` and memory bits: whether operand 0's and operand 1's
        // register fields are `None`.
        let mut nones = std::collections::HashMap::new();
        for _ in 0..200_000 {
            let mut bytes = [0u8; 16];
            bytes.iter_mut().for_each(|b| *b = rng.next() as u8);
            // Register-to-register forms (mod 3) with equal operands often.
            if rng.below(2) == 0 {
                let at = 1 + rng.below(2);
                let r = rng.below(8) as u8;
                bytes[at] = 0xc0 | r << 3 | r;
            }
            let mut d = iced_x86::Decoder::new(64, &bytes, 0);
            while d.can_decode() {
                d.decode_out(&mut ins);
                if ins.is_invalid() {
                    continue; // never keyed
                }
                let (k0, k1) = (ins.op0_kind(), ins.op1_kind());
                let (r0, r1) = (ins.op0_register(), ins.op1_register());
                let rule = k0 == OpKind::Register
                    && k1 == OpKind::Register
                    && ins.op_count() >= 2
                    && r0 == r1;
                let key = Records::key(&ins);
                let want = (ins.code() as usize) << 3
                    | usize::from(k0 == OpKind::Memory) << 2
                    | usize::from(k1 == OpKind::Memory) << 1;
                assert_eq!(key & !1, want, "{ins} {bytes:02x?}");
                let both_none = r0 == Register::None && r1 == Register::None;
                assert_eq!(key & 1 != 0, rule || both_none, "{ins} {bytes:02x?}");
                same += usize::from(rule);
                let shape = (r0 == Register::None, r1 == Register::None);
                assert_eq!(*nones.entry(want).or_insert(shape), shape, "{ins}");
                if both_none {
                    none += 1;
                    let (a, b) = (compute(&ins, true), compute(&ins, false));
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{ins}");
                }
            }
        }
        assert!(same > 1000 && none > 1000, "{same} {none}");
    }

    /// The group index covers every `Code` iced has (and no more).
    #[test]
    fn codes_is_iceds_count() {
        assert_eq!(Code::values().len(), CODES);
        assert!(Code::values().all(|c| (c as usize) < CODES));
    }

    #[test]
    fn register_indices_equal_the_interpreters_for_every_register() {
        let mut gprs = 0;
        for r in Register::values() {
            assert_eq!(is_gpr32_or_64(r), r.is_gpr32() || r.is_gpr64(), "{r:?}");
            if r.is_gpr() {
                assert_eq!(usize::from(gpr(r)), interp::gpr(r), "{r:?}");
                gprs += 1;
            }
        }
        assert_eq!(gprs, 68);
    }

    /// Random instructions of the fast forms' opcodes (and neighbours,
    /// behind REX, `66` and `67` prefixes) lowered through one table, where
    /// the register classes are tested once per key and template slot, give
    /// the `Op` a fresh table gives them (classes tested on that very
    /// instruction); a fast form's registers are the interpreter's indices
    /// of the instruction's own and of the classes the form handles.
    /// A random instruction: one of `prefixes`, one of `opcodes`, a ModRM
    /// byte with a memory operand one time in `memory_one_in` (else a
    /// register operand), then eight random bytes; `None` if iced decodes
    /// it as invalid.
    fn random_instruction(
        rng: &mut crate::test_rng::Rng,
        prefixes: &[&[u8]],
        opcodes: &[&[u8]],
        memory_one_in: usize,
    ) -> Option<(Vec<u8>, Instruction)> {
        let mut bytes = prefixes[rng.below(prefixes.len())].to_vec();
        bytes.extend_from_slice(opcodes[rng.below(opcodes.len())]);
        let modrm = rng.next() as u8;
        bytes.push(if rng.below(memory_one_in) == 0 {
            modrm
        } else {
            modrm | 0xc0
        });
        bytes.extend((0..8).map(|_| rng.next() as u8));
        let ins = iced_x86::Decoder::new(64, &bytes, 0).decode();
        (!ins.is_invalid()).then_some((bytes, ins))
    }

    #[test]
    fn lowering_through_one_table_is_lowering_each_alone() {
        const OPCODES: [&[u8]; 30] = [
            &[0x01],
            &[0x03],
            &[0x29],
            &[0x2b],
            &[0x21],
            &[0x23],
            &[0x09],
            &[0x0b],
            &[0x31],
            &[0x33],
            &[0x39],
            &[0x3b],
            &[0x85],
            &[0x89],
            &[0x8b],
            &[0x8d],
            &[0x83],
            &[0x81],
            &[0xc7],
            &[0xb8],
            &[0xbb],
            &[0x63],
            &[0x99],
            &[0xf7],
            &[0xd3],
            &[0xc1],
            &[0x0f, 0xaf],
            &[0x0f, 0xb6],
            &[0x0f, 0xbf],
            &[0x88],
        ];
        const PREFIXES: [&[u8]; 9] = [
            &[],
            &[0x48],
            &[0x4c],
            &[0x49],
            &[0x4d],
            &[0x40],
            &[0x41],
            &[0x66],
            &[0x67],
        ];
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        let mut records = Records::new();
        let (mut fast, mut total) = (0, 0);
        for _ in 0..60_000 {
            // Register operands more often than memory ones.
            let Some((bytes, ins)) = random_instruction(&mut rng, &PREFIXES, &OPCODES, 3) else {
                continue;
            };
            let no_prefix = !crate::classify::is_legacy_prefix(bytes[0]);
            let key = Records::key(&ins);
            let rec = records.get(key, &ins);
            let shared = records.lower(key, rec, &ins, no_prefix);
            let mut alone = Records::new();
            let rec = alone.get(key, &ins);
            let single = alone.lower(key, rec, &ins, no_prefix);
            assert_eq!(format!("{shared:?}"), format!("{single:?}"), "{ins}");
            total += 1;
            if matches!(
                shared.form,
                Form::Generic | Form::Jump | Form::Nop | Form::Ret
            ) {
                continue;
            }
            fast += 1;
            let o = operands(rec.form(), rec.op1_reg(), &ins).expect("a fast form's operands");
            assert!(classes_ok(&o), "{ins}");
            assert_eq!(usize::from(shared.r0), interp::gpr(o.r0), "{ins}");
            if o.r1 != Register::None {
                assert_eq!(usize::from(shared.r1), interp::gpr(o.r1), "{ins}");
            }
        }
        assert!(total > 40_000 && fast > 10_000, "{total} {fast}");
    }

    /// [`Records::lower`]'s plans (registers, `[base + disp]` for
    /// `mov`/`lea`, `nop` and `ret` behind prefixes or none) give what the general path ([`Records::lower_general`],
    /// through [`operands`]) gives the same instruction with the same
    /// table: random instructions of the fast forms' opcodes behind
    /// REX/`66`/`67` prefixes (`67`: 32-bit bases; memory operands with and
    /// without an index, `rip`-relative ones), each lowered by both.
    #[test]
    fn plan_lowering_is_the_general_one() {
        const OPCODES: [&[u8]; 25] = [
            &[0x90],
            &[0xc3],
            &[0x0f, 0x1f],
            &[0x8d],
            &[0x8b],
            &[0x01],
            &[0x03],
            &[0x29],
            &[0x2b],
            &[0x21],
            &[0x09],
            &[0x31],
            &[0x33],
            &[0x39],
            &[0x85],
            &[0x89],
            &[0x8b],
            &[0x83],
            &[0x81],
            &[0xc7],
            &[0xb8],
            &[0xc1],
            &[0xd1],
            &[0x0f, 0xaf],
            &[0x0f, 0x44],
        ];
        const PREFIXES: [&[u8]; 7] = [&[], &[0x48], &[0x4d], &[0x41], &[0x66], &[0x67], &[0xf3]];
        let mut rng = crate::test_rng::Rng(0x6a09_e667_f3bc_c908);
        let mut records = Records::new();
        let mut taken = [0usize; 6];
        for _ in 0..100_000 {
            let Some((bytes, ins)) = random_instruction(&mut rng, &PREFIXES, &OPCODES, 4) else {
                continue;
            };
            let no_prefix = !crate::classify::is_legacy_prefix(bytes[0]);
            let key = Records::key(&ins);
            let _ = records.get(key, &ins);
            // Now and then the key's templates are forgotten (compared again
            // on the next lowering) or marked as differing.
            let at = records.slot(key);
            match rng.below(64) {
                0 => records.table[at].tmpl = [UNCHECKED; 4],
                1 => records.table[at].tmpl = [DIFFERS; 4],
                _ => {}
            }
            let rec = records.get(key, &ins);
            let planned = records.lower(key, rec, &ins, no_prefix);
            // The record as it is now (the first lowering may have filled
            // its template slot), taken the general way.
            let rec = records.get(key, &ins);
            let general = records.lower(
                key,
                Rec {
                    plan: Plan::General,
                    ..rec
                },
                &ins,
                no_prefix,
            );
            assert_eq!(format!("{planned:?}"), format!("{general:?}"), "{ins}");
            if no_prefix && rec.plan != Plan::General {
                taken[usize::from(planned.form != Form::Generic)] += 1;
                taken[2] += usize::from(rec.plan == Plan::RegReg);
                taken[3] += usize::from(rec.plan == Plan::Mem && planned.form != Form::Generic);
            }
            if rec.plan == Plan::Fixed {
                taken[4 + usize::from(no_prefix)] += usize::from(planned.form != Form::Generic);
            }
        }
        // Every plan, with templates that hold and that differ.
        assert!(
            taken[0] > 100
                && taken[1] > 5_000
                && taken[2] > 2_000
                && taken[3] > 100
                && taken[4] > 100
                && taken[5] > 100,
            "{taken:?}"
        );
    }

    /// The key's head that [`Records::lower_into`] starts from (copied
    /// whole, then the registers written) holds what the instruction itself
    /// gives: over random byte strings (every opcode, behind random
    /// prefixes) lowered through one table, each `Op`'s flow is iced's flow
    /// control, its flags iced's for that very instruction, a fast form's
    /// width the one `form_of` gives (`Widen`: its source's), and an `Op`
    /// without a fast form carries no operands (`r0` 0, `r1` [`NO_REG`],
    /// `k` 0).
    #[test]
    fn lowering_from_the_head_is_the_instructions_own() {
        let mut rng = crate::test_rng::Rng(0x3c6e_f372_fe94_f82b);
        let mut records = Records::new();
        let mut ins = Instruction::default();
        let (mut generic, mut fast) = (0, 0);
        for _ in 0..100_000 {
            let mut bytes = [0u8; 16];
            bytes.iter_mut().for_each(|b| *b = rng.next() as u8);
            if rng.below(2) == 0 {
                // A fast form's opcode, register operands more often.
                const OPC: [u8; 10] = [0x01, 0x29, 0x31, 0x39, 0x85, 0x89, 0x8b, 0x8d, 0x83, 0xc1];
                bytes[0] = [0x48, 0x40, 0x4c, 0x90][rng.below(4)];
                bytes[1] = OPC[rng.below(OPC.len())];
                if rng.below(2) == 0 {
                    bytes[2] |= 0xc0;
                }
            }
            let mut d = iced_x86::Decoder::new(64, &bytes, 0);
            while d.can_decode() {
                let at = d.position();
                d.decode_out(&mut ins);
                if ins.is_invalid() {
                    continue;
                }
                let no_prefix = !crate::classify::is_legacy_prefix(bytes[at]);
                let key = Records::key(&ins);
                let rec = records.get(key, &ins);
                let op = records.lower(key, rec, &ins, no_prefix);
                let flow = match ins.flow_control() {
                    FlowControl::UnconditionalBranch => Flow::Jump,
                    FlowControl::ConditionalBranch => Flow::CondJump,
                    FlowControl::Call | FlowControl::IndirectCall => Flow::Call,
                    FlowControl::Return => Flow::Return,
                    _ => Flow::Next,
                };
                assert_eq!(op.flow, flow, "{ins}");
                assert_eq!(op.flags, flag_bytes(Flags::of(&ins)), "{ins}");
                match op.form {
                    Form::Generic => {
                        assert_eq!((op.r0, op.r1, op.k), (0, NO_REG, 0), "{ins}");
                        generic += 1;
                    }
                    Form::Jump | Form::Nop | Form::Ret => {}
                    Form::Widen => {
                        assert_eq!(op.width, read_width(ins.op1_register()), "{ins}");
                        fast += 1;
                    }
                    _ => {
                        let (_, width, _) = form_of(ins.code()).expect("a fast form's code");
                        assert_eq!(op.width, width, "{ins}");
                        fast += 1;
                    }
                }
            }
        }
        assert!(generic > 10_000 && fast > 10_000, "{generic} {fast}");
    }

    /// Every shift and rotate (by an immediate, by 1, by `cl`; register and
    /// memory; 8/16/32/64 bits; `shld`/`shrd`) lowered through one table,
    /// the counts in an order where a key's record is filled by any of
    /// them: the flags in its `Op` are iced's for that very instruction.
    #[test]
    fn cached_shift_flags_are_the_instructions_own() {
        let mut records = Records::new();
        let counts = [5u8, 0, 1, 2, 8, 9, 16, 17, 31, 32, 33, 63, 64, 255, 1, 0];
        let mut checked = 0;
        let mut per_instruction = 0;
        for first in 0..counts.len() {
            for prefix in [&[][..], &[0x48], &[0x66], &[0x41]] {
                for modrm_mode in [0xc0u8, 0x00] {
                    for ext in 0..8u8 {
                        let modrm = modrm_mode | ext << 3 | 1;
                        let mut forms: Vec<Vec<u8>> = Vec::new();
                        for opc in [0xc0u8, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3] {
                            forms.push(vec![opc, modrm]);
                        }
                        for opc in [0xa4u8, 0xa5, 0xac, 0xad] {
                            forms.push(vec![0x0f, opc, modrm]);
                        }
                        for form in forms {
                            for &count in counts.iter().cycle().skip(first).take(counts.len()) {
                                let mut bytes = prefix.to_vec();
                                bytes.extend_from_slice(&form);
                                bytes.push(count);
                                let mut d = iced_x86::Decoder::new(64, &bytes, 0);
                                let ins = d.decode();
                                if ins.is_invalid() || !is_shift(ins.mnemonic()) {
                                    continue;
                                }
                                let key = Records::key(&ins);
                                let rec = records.get(key, &ins);
                                per_instruction += usize::from(rec.flags_per_instruction());
                                let op = records.lower(key, rec, &ins, prefix.is_empty());
                                assert_eq!(
                                    op.flags,
                                    flag_bytes(Flags::of(&ins)),
                                    "{ins} {bytes:02x?}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        // Shifts by an immediate are taken per instruction; the others not.
        assert!(checked > 10_000 && per_instruction > 0 && per_instruction < checked);
    }
}
