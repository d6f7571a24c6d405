//! The abstract machine state tracked at each program point.
//!
//! Registers are indexed by iced's 64-bit GPR number (0 = rax … 15 = r15).
//! Each holds a [`Val`]: undefined, data with its low `n` bytes defined, the
//! caller's untouched value of a callee-saved register, or a pointer known as
//! entry-`rsp` + k (`Stack`) or pointer parameter + k (`Param`). Stack memory
//! is a sorted list of non-overlapping written [`Slot`]s at offsets from the
//! entry `rsp`; bytes not covered are unwritten. The list is canonical: a
//! special value (pointer or entry value) is an 8-byte slot of its own, and
//! plain data bytes form maximal runs (no two data slots touch), so a frame
//! written byte by byte is one slot and equal byte sets have equal lists.
//! `touched` is the deepest stack byte known to be accessed on every path
//! (the stack-clash rule). Joins only lose information, so the fixpoint
//! iteration terminates.

use crate::num::{BOUND, NO_ID, Num, Rel, Syms, join_rel, widen_join, widen_rel, widen_scalar};
use crate::scalar::Scalar;

/// Index of `rsp` in the register file.
pub(crate) const RSP: usize = 4;

/// Arithmetic flags tracked for definedness (CF PF AF ZF SF OF in iced's bits).
pub(crate) const ARITH_FLAGS: u32 = iced_x86::RflagsBits::OF
    | iced_x86::RflagsBits::SF
    | iced_x86::RflagsBits::ZF
    | iced_x86::RflagsBits::AF
    | iced_x86::RflagsBits::CF
    | iced_x86::RflagsBits::PF;

/// An abstract register (or stack slot) value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    /// Nothing known; reading it is a violation.
    Undef,
    /// Ordinary data whose low `n` bytes (1..=8) are defined.
    Data(u8),
    /// The entry value of callee-saved register `r`: may be moved, not used.
    Entry(u8),
    /// Pointer into the stack: entry `rsp` + offset.
    Stack(i64),
    /// Pointer parameter `i` + offset.
    Param(u8, i64),
    /// A defined number with a known range or relation (never one about
    /// which nothing is known: that is `Data(8)`, see [`Val::num`]).
    Num(Num),
    /// A pointer into buffer parameter `i`, at a byte offset.
    Ptr(u8, Num),
}

/// The flags' meaning: the last `cmp`/`test` whose operands are unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cmp {
    /// Register-file index of the first operand.
    pub(crate) a: u8,
    /// The second operand: a register index, or [`CMP_IMM`] with `imm`.
    pub(crate) b: u8,
    pub(crate) imm: i64,
    /// Operand width in bytes.
    pub(crate) width: u8,
    /// What set the flags.
    pub(crate) kind: Flagged,
}

/// The instruction behind [`Cmp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flagged {
    /// `cmp a, b`: the flags of `a - b`.
    Sub,
    /// `test a, a`, or `and`/`or`/`xor` writing `a`: ZF and SF of `a`, CF
    /// and OF clear.
    Logic,
    /// An arithmetic result written to `a` (`add`, `sub`, `inc`, `dec`,
    /// `neg`, shifts by a non-zero count): only ZF and SF are `a`'s.
    Result,
    /// `test a, imm`: ZF says whether `a & imm` is zero.
    Mask,
}

/// `Cmp::b` of a comparison with an immediate.
pub(crate) const CMP_IMM: u8 = 16;

impl Val {
    /// Defined low bytes when read as data.
    pub(crate) fn defined_bytes(self) -> u8 {
        match self {
            Val::Undef | Val::Entry(_) => 0,
            Val::Data(n) => n,
            Val::Stack(_) | Val::Param(..) | Val::Num(_) | Val::Ptr(..) => 8,
        }
    }

    /// A number, or `Data(8)` if nothing is known about it.
    pub(crate) fn num(n: Num) -> Val {
        if n.is_unknown() {
            Val::Data(8)
        } else {
            Val::Num(n)
        }
    }

    /// The value read as a `width`-byte number, if it is defined data (a
    /// pointer is not a number).
    pub(crate) fn as_num(self, width: u8) -> Option<Num> {
        match self {
            Val::Num(n) => Some(n.at_width(width)),
            Val::Data(d) if d >= width => Some(Num::unknown()),
            _ => None,
        }
    }

    /// Whether the value is special: it must keep its own 8-byte slot.
    pub(crate) fn is_special(self) -> bool {
        matches!(
            self,
            Val::Stack(_) | Val::Param(..) | Val::Entry(_) | Val::Num(_) | Val::Ptr(..)
        )
    }

    /// The join with relations: `sa`/`sb` are the symbol facts of the two
    /// paths; with `widen`, bounds that grew jump to their limits.
    pub(crate) fn join_with(self, other: Val, sa: &Syms, sb: &Syms, widen: Option<&[i64]>) -> Val {
        if self == other {
            return self;
        }
        let join_num = |a: Num, b: Num| join_nums(&a, &b, sa, sb, widen);
        match (self, other) {
            (Val::Num(a), Val::Num(b)) => Val::num(join_num(a, b)),
            (Val::Ptr(i, a), Val::Ptr(j, b)) if i == j => Val::Ptr(i, join_num(a, b)),
            _ => self.join(other),
        }
    }

    /// Least upper bound in the "what is certainly true on every path" order.
    pub(crate) fn join(self, other: Val) -> Val {
        if self == other {
            return self;
        }
        match (self, other) {
            (Val::Undef, _) | (_, Val::Undef) | (Val::Entry(_), _) | (_, Val::Entry(_)) => {
                Val::Undef
            }
            (Val::Num(a), Val::Num(b)) => Val::num(Num {
                s: a.s.join(b.s),
                rel: if a.rel == b.rel { a.rel } else { Rel::NONE },
                id: same_id(&a, &b),
            }),
            (Val::Ptr(i, a), Val::Ptr(j, b)) if i == j => Val::Ptr(
                i,
                Num {
                    s: a.s.join(b.s),
                    rel: if a.rel == b.rel { a.rel } else { Rel::NONE },
                    id: same_id(&a, &b),
                },
            ),
            (a, b) => Val::Data(a.defined_bytes().min(b.defined_bytes())),
        }
    }
}

/// The join of two numbers ([`Val::join_with`]'s rule for numbers and
/// buffer offsets): `sa`/`sb` are the symbol facts of the two paths; with
/// `widen`, bounds that grew jump to their limits.
fn join_nums(a: &Num, b: &Num, sa: &Syms, sb: &Syms, widen: Option<&[i64]>) -> Num {
    let s = a.s.join(b.s);
    let rel = join_rel(a, sa, b, sb);
    let id = same_id(a, b);
    if let Some(thresholds) = widen {
        Num {
            s: widen_scalar(a.s, s, thresholds),
            rel: widen_rel(a.rel_on(rel.sym, rel.shift, sa), rel),
            id,
        }
    } else {
        Num { s, rel, id }
    }
}

/// The value identity two joined numbers keep: theirs if they agree (then
/// every register holding it held one value on each path, so it still
/// does), else none.
fn same_id(a: &Num, b: &Num) -> u32 {
    if a.id == b.id { a.id } else { NO_ID }
}

/// The value as a stack slot keeps it: without a value identity or a
/// relation to the bound symbol (both live in registers only, where
/// [`State::copy_reg`] and [`crate::refine::cmov`] find them when the name
/// is given to a new value).
fn for_memory(v: Val) -> Val {
    let strip = |n: Num| Num {
        id: NO_ID,
        rel: if n.rel.sym == BOUND { Rel::NONE } else { n.rel },
        ..n
    };
    match v {
        Val::Num(n) => Val::num(strip(n)),
        Val::Ptr(i, n) => Val::Ptr(i, strip(n)),
        v => v,
    }
}

/// A written run of stack bytes `[off, off + len)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) off: i64,
    pub(crate) len: u32,
    /// A special value (then `len` is 8), or `Data(8)` for plain bytes.
    pub(crate) val: Val,
}

impl Slot {
    fn end(&self) -> i64 {
        self.off + i64::from(self.len)
    }

    fn is_data(&self) -> bool {
        matches!(self.val, Val::Data(_))
    }
}

/// A register's value without its number, decoded from [`State`]'s
/// `kinds` and `offs` ([`State::head`]). The number of a `Num` or `Ptr`
/// register lives in [`State`]'s `nums`, at the register's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    Undef,
    Data(u8),
    Entry(u8),
    Stack(i64),
    Param(u8, i64),
    Num,
    Ptr(u8),
}

/// A register's kind in [`State`]'s `kinds`: one of these in the high
/// byte, the variant's small field (`Data`'s byte count, `Entry`'s
/// register, `Param`'s and `Ptr`'s parameter) in the low byte. Plain
/// integers, so that comparing and copying the sixteen kinds is one
/// 32-byte compare or move. Ordered so that "at least `w` defined bytes"
/// is one compare ([`State::reg_has_bytes`]): no defined byte below
/// `K_DATA`, `Data`'s count above it, eight defined bytes beyond.
const K_UNDEF: u16 = 0;
const K_ENTRY: u16 = 1 << 8;
const K_DATA: u16 = 2 << 8;
const K_STACK: u16 = 3 << 8;
const K_PARAM: u16 = 4 << 8;
const K_NUM: u16 = 5 << 8;
const K_PTR: u16 = 6 << 8;

/// The state at one program point.
#[derive(Eq)]
pub(crate) struct State {
    /// Each register's kind (see [`K_UNDEF`]), with its offset (a `Stack`
    /// or `Param` register; 0 elsewhere, so equal values have equal
    /// arrays) in `offs` and its number (if any) in `nums`: read with
    /// [`State::reg`], written with [`State::set_reg`].
    kinds: [u16; 16],
    offs: [i64; 16],
    /// `nums[r]` is register `r`'s number where `kinds[r]` is `Num` or
    /// `Ptr` (bit `r` of `with_num`); elsewhere stale.
    nums: [Num; 16],
    with_num: u16,
    /// What the flags say about registers, if they come from a comparison.
    pub(crate) cmp: Option<Cmp>,
    /// What is known about each symbol (extent parameter).
    /// Read with [`State::syms`], written through [`State::syms_mut`] or
    /// [`State::set_syms`].
    syms: Syms,
    /// `syms` is certainly the empty [`crate::num::NO_SYMS`] (always, in a
    /// run without the value domain): copies and comparisons skip it.
    syms_plain: bool,
    /// `rdx` holds the sign extension of `rax` at this width (4 after `cdq`,
    /// 8 after `cqo`, 0 otherwise): what `idiv` needs.
    pub(crate) sext: u8,
    /// Defined arithmetic flags (subset of [`ARITH_FLAGS`]).
    pub(crate) flags: u32,
    /// The deepest stack byte accessed on every path here, as an offset from
    /// the entry `rsp` (0 at entry: the caller's `call` wrote the return
    /// address there).
    pub(crate) touched: i64,
    pub(crate) slots: Vec<Slot>,
}

impl Clone for State {
    fn clone(&self) -> State {
        let mut st = State::empty();
        st.clone_from(self);
        st
    }

    /// Copies only the numbers registers hold, and reuses `self`'s slot
    /// buffer (the derived version would copy every stale number and
    /// reallocate). Out of line: inlined at the driver's two copy sites
    /// it cost every shape more in `Validator::run`'s register
    /// allocation than the call does (corpus 7,455 -> 7,343).
    #[inline(never)]
    fn clone_from(&mut self, source: &State) {
        self.copy_regs_from(source);
        self.copy_rest_from(source);
        self.slots.clone_from(&source.slots);
    }
}

impl PartialEq for State {
    fn eq(&self, o: &State) -> bool {
        self.kinds == o.kinds
            && self.offs == o.offs
            && self.same_nums(o, self.with_num)
            && self.cmp == o.cmp
            && self.same_syms(o)
            && self.sext == o.sext
            && self.flags == o.flags
            && self.touched == o.touched
            && same_slots(&self.slots, &o.slots)
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("regs", &(0..16).map(|r| self.reg(r)).collect::<Vec<Val>>())
            .field("cmp", &self.cmp)
            .field("syms", &self.syms)
            .field("sext", &self.sext)
            .field("flags", &self.flags)
            .field("touched", &self.touched)
            .field("slots", &self.slots)
            .finish()
    }
}

/// Result of reading stack bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Load {
    /// Every byte written; value as stored (special only for an exact slot).
    Value(Val),
    /// The first unwritten (or caller-private) byte.
    Missing(i64),
}

impl State {
    /// A placeholder state (every register undefined, no slots).
    pub(crate) fn empty() -> State {
        State {
            kinds: [K_UNDEF; 16],
            offs: [0; 16],
            nums: [Num::unknown(); 16],
            with_num: 0,
            cmp: None,
            syms: crate::num::NO_SYMS,
            syms_plain: true,
            sext: 0,
            flags: 0,
            touched: 0,
            slots: Vec::new(),
        }
    }

    /// Register `r`'s value without its number.
    #[inline]
    fn head(&self, r: usize) -> Head {
        let k = self.kinds[r];
        let small = k as u8;
        match k & 0xff00 {
            K_UNDEF => Head::Undef,
            K_DATA => Head::Data(small),
            K_ENTRY => Head::Entry(small),
            K_STACK => Head::Stack(self.offs[r]),
            K_PARAM => Head::Param(small, self.offs[r]),
            K_NUM => Head::Num,
            _ => Head::Ptr(small),
        }
    }

    /// Register `r`'s value.
    #[inline]
    pub(crate) fn reg(&self, r: usize) -> Val {
        let k = self.kinds[r];
        let small = k as u8;
        match k & 0xff00 {
            K_UNDEF => Val::Undef,
            K_DATA => Val::Data(small),
            K_ENTRY => Val::Entry(small),
            K_STACK => Val::Stack(self.offs[r]),
            K_PARAM => Val::Param(small, self.offs[r]),
            K_NUM => Val::Num(self.nums[r]),
            _ => Val::Ptr(small, self.nums[r]),
        }
    }

    /// Sets register `r` to `v`, each part written in place (the number is
    /// not moved through a temporary first).
    #[inline]
    pub(crate) fn set_reg(&mut self, r: usize, v: Val) {
        self.set_reg_inline(r, v);
    }

    /// [`State::set_reg`], always inlined: for the driver's hot step, where
    /// a call per written register costs more than the copy.
    #[inline(always)]
    pub(crate) fn set_reg_inline(&mut self, r: usize, v: Val) {
        let (kind, off) = match v {
            Val::Num(n) => {
                self.nums[r] = n;
                self.with_num |= 1 << r;
                (K_NUM, 0)
            }
            Val::Ptr(i, n) => {
                self.nums[r] = n;
                self.with_num |= 1 << r;
                (K_PTR | u16::from(i), 0)
            }
            v => {
                self.with_num &= !(1 << r);
                match v {
                    Val::Data(n) => (K_DATA | u16::from(n), 0),
                    Val::Entry(e) => (K_ENTRY | u16::from(e), 0),
                    Val::Stack(k) => (K_STACK, k),
                    Val::Param(i, k) => (K_PARAM | u16::from(i), k),
                    // (`Num` and `Ptr` are the arms above.)
                    Val::Undef | Val::Num(_) | Val::Ptr(..) => (K_UNDEF, 0),
                }
            }
        };
        self.kinds[r] = kind;
        self.offs[r] = off;
    }

    /// Register `r`'s offset from the entry `rsp` where it is a `Stack`
    /// pointer.
    #[inline]
    pub(crate) fn reg_stack(&self, r: usize) -> Option<i64> {
        (self.kinds[r] == K_STACK).then(|| self.offs[r])
    }

    /// Whether register `r` is a frame pointer (`Stack` or `Param`), without
    /// building its value.
    #[inline]
    pub(crate) fn reg_is_frame(&self, r: usize) -> bool {
        matches!(self.kinds[r] & 0xff00, K_STACK | K_PARAM)
    }

    /// Sets register `r` to the number `n` (`Val::num(n)`, without
    /// building the value).
    #[inline]
    pub(crate) fn set_num(&mut self, r: usize, n: Num) {
        if n.is_unknown() {
            self.kinds[r] = K_DATA | 8;
            self.with_num &= !(1 << r);
        } else {
            self.kinds[r] = K_NUM;
            self.nums[r] = n;
            self.with_num |= 1 << r;
        }
        self.offs[r] = 0;
    }

    /// Replaces the range of register `r`'s number (a `Num` register) by
    /// `s`, a narrower one: what `set_num` of the number with `s` gives.
    #[inline]
    pub(crate) fn set_num_scalar(&mut self, r: usize, s: Scalar) {
        debug_assert_eq!(self.kinds[r], K_NUM);
        if s.is_unknown() && !self.nums[r].rel.is_some() && self.nums[r].id == NO_ID {
            self.set_num(r, Num::unknown());
        } else {
            self.nums[r].s = s;
        }
    }

    /// Sets register `r` to an offset `n` into buffer `i` (`Val::Ptr`).
    #[inline]
    pub(crate) fn set_ptr(&mut self, r: usize, i: u8, n: Num) {
        self.kinds[r] = K_PTR | u16::from(i);
        self.nums[r] = n;
        self.with_num |= 1 << r;
        self.offs[r] = 0;
    }

    /// What is known about each symbol (extent parameter).
    #[inline]
    pub(crate) fn syms(&self) -> &Syms {
        &self.syms
    }

    /// The symbol facts, to change them.
    #[inline]
    pub(crate) fn syms_mut(&mut self) -> &mut Syms {
        self.syms_plain = false;
        &mut self.syms
    }

    /// Replaces the symbol facts.
    pub(crate) fn set_syms(&mut self, syms: &Syms) {
        self.syms = *syms;
        self.syms_plain = *syms == crate::num::NO_SYMS;
    }

    /// Empties the symbol facts (without touching them if they are).
    pub(crate) fn clear_syms(&mut self) {
        if !self.syms_plain {
            self.syms = crate::num::NO_SYMS;
            self.syms_plain = true;
        }
    }

    /// Whether `self` and `o` have equal symbol facts.
    #[inline]
    fn same_syms(&self, o: &State) -> bool {
        (self.syms_plain && o.syms_plain) || self.syms == o.syms
    }

    /// Makes every register undefined.
    pub(crate) fn clear_regs(&mut self) {
        self.kinds = [K_UNDEF; 16];
        self.offs = [0; 16];
        self.with_num = 0;
    }

    /// [`Clone::clone_from`] except the slot list: `self` takes `o`'s
    /// slots and gives `o` its own (a stale list), to be exchanged back
    /// with [`State::give_slots_back`] before `o` is read again.
    pub(crate) fn clone_lending_slots(&mut self, o: &mut State) {
        self.copy_regs_from(o);
        self.copy_rest_from(o);
        std::mem::swap(&mut self.slots, &mut o.slots);
    }

    /// Copies what is neither a register nor the slot list: the
    /// comparison, the symbol facts, the sign-extension fact, the flags
    /// and the touched set (shared by every state copy).
    #[inline]
    fn copy_rest_from(&mut self, o: &State) {
        self.cmp = o.cmp;
        debug_assert!(!o.syms_plain || o.syms == crate::num::NO_SYMS);
        if !(self.syms_plain && o.syms_plain) {
            self.syms = o.syms;
        }
        self.syms_plain = o.syms_plain;
        self.sext = o.sext;
        self.flags = o.flags;
        self.touched = o.touched;
    }

    /// Gives `o` back the slots [`State::clone_lending_slots`] took.
    pub(crate) fn give_slots_back(&mut self, o: &mut State) {
        std::mem::swap(&mut self.slots, &mut o.slots);
    }

    /// [`Clone::clone_from`] of a state that holds no numbers and no stack
    /// slots (an entry state without buffers or assumed arguments): the
    /// number copies and the slot list's copy are left out.
    pub(crate) fn clone_plain_from(&mut self, o: &State) {
        debug_assert!(o.with_num == 0 && o.slots.is_empty());
        // Its offsets are 0: `rsp` at `Stack(0)`, pointer arguments at
        // `Param(i, 0)` (stored, not read: 8 loads fewer).
        debug_assert!(o.offs == [0; 16]);
        self.kinds = o.kinds;
        self.offs = [0; 16];
        self.with_num = 0;
        self.copy_rest_from(o);
        self.slots.clear();
    }

    /// Whether `reg(r) == Val::Entry(r)` for each callee-saved register `r`
    /// (rbx, rbp, r12-r15), in one test of their kinds.
    #[inline]
    pub(crate) fn callee_saved_at_entry(&self) -> bool {
        // r12-r15 as one word (one load), rbx and rbp as another.
        let word = |a: u16, b: u16, c: u16, d: u16| {
            u64::from(a) | u64::from(b) << 16 | u64::from(c) << 32 | u64::from(d) << 48
        };
        let (k, e) = (&self.kinds, |r: u16| K_ENTRY | r);
        let hi = word(k[12], k[13], k[14], k[15]) ^ word(e(12), e(13), e(14), e(15));
        let lo = word(k[3], k[5], 0, 0) ^ word(e(3), e(5), 0, 0);
        hi | lo == 0
    }

    /// Copies `o`'s registers (only).
    pub(crate) fn copy_regs_from(&mut self, o: &State) {
        self.kinds = o.kinds;
        self.offs = o.offs;
        self.with_num = o.with_num;
        let mut m = o.with_num;
        while m != 0 {
            let r = m.trailing_zeros() as usize;
            self.nums[r] = o.nums[r];
            m &= m - 1;
        }
    }

    /// How many low bytes of register `r` are defined data (without
    /// building its value).
    #[inline]
    pub(crate) fn reg_defined_bytes(&self, r: usize) -> u8 {
        let k = self.kinds[r];
        match k & 0xff00 {
            K_UNDEF | K_ENTRY => 0,
            K_DATA => k as u8,
            _ => 8,
        }
    }

    /// Whether register `r` has at least `w` (1 to 8) defined low bytes
    /// (`reg_defined_bytes(r) >= w`), in one compare: undefined and entry
    /// kinds lie below `K_DATA`, `Data(n)` is `K_DATA + n`, and every other
    /// kind (eight defined bytes) lies above `K_DATA + 8`.
    #[inline(always)]
    pub(crate) fn reg_has_bytes(&self, r: usize, w: u8) -> bool {
        debug_assert!((1..=8).contains(&w));
        self.kinds[r] >= K_DATA + u16::from(w)
    }

    /// Whether register `r` holds plain data (no known value).
    #[inline]
    pub(crate) fn reg_is_data(&self, r: usize) -> bool {
        self.kinds[r] & 0xff00 == K_DATA
    }

    /// Whether register `r` is stored as plain data ([`State::store`] of
    /// its value writes what [`State::store_data`] writes): plain data, or
    /// a number about which memory keeps nothing (any value, with at most
    /// a value identity and a relation to the bound symbol, which
    /// [`for_memory`] drops).
    #[inline]
    pub(crate) fn reg_stores_as_data(&self, r: usize) -> bool {
        match self.kinds[r] & 0xff00 {
            K_DATA => true,
            K_NUM => {
                let n = &self.nums[r];
                n.s.is_unknown() && (!n.rel.is_some() || n.rel.sym == BOUND)
            }
            _ => false,
        }
    }

    /// Whether register `r` holds plain data or a number that is any
    /// value with no relation (at most a value identity).
    #[inline]
    pub(crate) fn reg_is_any_value(&self, r: usize) -> bool {
        match self.kinds[r] & 0xff00 {
            K_DATA => true,
            K_NUM => self.nums[r].s.is_unknown() && !self.nums[r].rel.is_some(),
            _ => false,
        }
    }

    /// Whether register `r` holds a callee-saved register's entry value.
    #[inline]
    pub(crate) fn reg_is_entry(&self, r: usize) -> bool {
        self.kinds[r] & 0xff00 == K_ENTRY
    }

    /// Whether the numbers of the registers in `mask` are equal in `self`
    /// and `o`.
    #[inline]
    fn same_nums(&self, o: &State, mut mask: u16) -> bool {
        while mask != 0 {
            let r = mask.trailing_zeros() as usize;
            if self.nums[r] != o.nums[r] {
                return false;
            }
            mask &= mask - 1;
        }
        true
    }

    /// Whether register `r` is undefined or a callee-saved register's
    /// entry value (what joins with anything else to undefined).
    #[inline]
    fn reg_is_undefined(&self, r: usize) -> bool {
        matches!(self.kinds[r] & 0xff00, K_UNDEF | K_ENTRY)
    }

    /// Whether register `r` holds a number or a buffer offset (`Num` or
    /// `Ptr`).
    #[inline]
    pub(crate) fn reg_has_num(&self, r: usize) -> bool {
        self.with_num >> r & 1 != 0
    }

    /// Register `r`'s number where it holds one (`Num`) or a buffer
    /// offset (`Ptr`), without building its value.
    #[inline]
    pub(crate) fn reg_number(&self, r: usize) -> Option<&Num> {
        self.reg_has_num(r).then(|| &self.nums[r])
    }

    /// Register `r`'s buffer and offset where it is a `Ptr`.
    #[inline]
    pub(crate) fn reg_ptr(&self, r: usize) -> Option<(u8, &Num)> {
        let k = self.kinds[r];
        (k & 0xff00 == K_PTR).then(|| (k as u8, &self.nums[r]))
    }

    /// Register `r`'s number where it is a `Num`.
    #[inline]
    pub(crate) fn reg_num(&self, r: usize) -> Option<&Num> {
        (self.kinds[r] == K_NUM).then(|| &self.nums[r])
    }

    /// [`Val::as_num`] of register `r` at 64 bits, without building its
    /// value.
    #[inline]
    pub(crate) fn reg_as_num64(&self, r: usize) -> Option<Num> {
        let k = self.kinds[r];
        match k & 0xff00 {
            K_NUM => Some(self.nums[r]),
            K_DATA if k as u8 >= 8 => Some(Num::unknown()),
            _ => None,
        }
    }

    /// The registers whose values differ in `self` and `o`, as a bit mask.
    #[inline(always)]
    fn differing_regs(&self, o: &State) -> u16 {
        // Kinds and offsets apart: offsets rarely differ, and the kinds'
        // mask alone is a few vector instructions.
        let mut diff = 0u16;
        if self.kinds != o.kinds {
            for r in 0..16 {
                diff |= u16::from(self.kinds[r] != o.kinds[r]) << r;
            }
        }
        if self.offs != o.offs {
            for r in 0..16 {
                diff |= u16::from(self.offs[r] != o.offs[r]) << r;
            }
        }
        // Equal kinds: both hold a number or neither does.
        let mut m = self.with_num & o.with_num & !diff;
        while m != 0 {
            let r = m.trailing_zeros() as usize;
            if self.nums[r] != o.nums[r] {
                diff |= 1 << r;
            }
            m &= m - 1;
        }
        diff
    }

    /// The value a 64-bit `mov d, s` at address `ip` gives `d`: `s`'s
    /// number with a value identity that `s` keeps too, so a branch on
    /// either narrows both ([`crate::refine`]). A number that has one
    /// already shares it; otherwise the identity is named after `ip`, and
    /// every register still holding that name from an earlier run of the
    /// same `mov` loses it first (it holds an older value). Anything but a
    /// defined 64-bit number is copied as it is.
    pub(crate) fn copy_reg(&mut self, s: usize, ip: u64) -> Val {
        let v = self.reg(s);
        let n = match v {
            Val::Num(n) => n,
            Val::Data(8) => Num::unknown(),
            _ => return v,
        };
        if n.id != NO_ID || s == RSP {
            return v;
        }
        // Any non-zero name is sound (clearing it first is what makes it
        // so); the address keeps different copies apart.
        let id = (ip as u32).max(1);
        self.drop_name(id);
        let tagged = Val::Num(Num { id, ..n });
        self.set_reg(s, tagged);
        tagged
    }

    /// Every register holding a number named `id` loses the name (it
    /// holds an older value than the copy about to be named so).
    fn drop_name(&mut self, id: u32) {
        let mut m = self.with_num;
        while m != 0 {
            let r = m.trailing_zeros() as usize;
            m &= m - 1;
            if self.kinds[r] == K_NUM && self.nums[r].id == id {
                let n = Num {
                    id: NO_ID,
                    ..self.nums[r]
                };
                self.set_num(r, n);
            }
        }
    }

    /// `set_reg(d, copy_reg(s, ip))` (a 64-bit `mov d, s` at `ip`), with
    /// the number tagged and copied in place instead of moved through two
    /// values.
    #[inline(never)]
    pub(crate) fn move_reg(&mut self, d: usize, s: usize, ip: u64) {
        let k = self.kinds[s];
        let untagged = (k == K_DATA | 8) || (k == K_NUM && self.nums[s].id == NO_ID);
        if untagged && s != RSP {
            // `copy_reg`'s naming: every older holder of the name loses it.
            let id = (ip as u32).max(1);
            self.drop_name(id);
            if k == K_NUM {
                self.nums[s].id = id;
            } else {
                self.kinds[s] = K_NUM;
                self.nums[s] = Num {
                    id,
                    ..Num::unknown()
                };
                self.with_num |= 1 << s;
            }
        }
        self.copy_reg_to(d, s);
    }

    /// `set_reg(d, reg(s))`: each part copied as it is (`offs` is 0 and
    /// `nums` unread where the kind has none), no value built.
    #[inline(always)]
    pub(crate) fn copy_reg_to(&mut self, d: usize, s: usize) {
        self.kinds[d] = self.kinds[s];
        self.offs[d] = self.offs[s];
        if self.with_num >> s & 1 != 0 {
            self.nums[d] = self.nums[s];
            self.with_num |= 1 << d;
        } else {
            self.with_num &= !(1 << d);
        }
    }

    /// `rsp` as an offset from its entry value.
    pub(crate) fn rsp(&self) -> i64 {
        if self.kinds[RSP] == K_STACK {
            self.offs[RSP]
        } else {
            // The interpreter never lets rsp become anything else.
            i64::MIN
        }
    }

    /// Reads `len` bytes at `off`.
    pub(crate) fn load(&self, off: i64, len: u8) -> Load {
        let end = off + i64::from(len);
        let start_idx = self.slots.partition_point(|s| s.end() <= off);
        let mut at = off;
        let mut single = None;
        for s in &self.slots[start_idx..] {
            if at >= end {
                break;
            }
            if s.off > at {
                return Load::Missing(at);
            }
            let exact = s.off == off && s.len == u32::from(len);
            if let Val::Entry(_) = s.val {
                // A saved callee-saved value is only readable by an exact move.
                if !exact {
                    return Load::Missing(at);
                }
            }
            if exact {
                single = Some(s.val);
            }
            at = s.end();
        }
        if at < end {
            return Load::Missing(at);
        }
        match single {
            Some(v) if len == 8 => Load::Value(v),
            _ => Load::Value(Val::Data(len.min(8))),
        }
    }

    /// Removes every written byte in `[lo, hi)`. The parts of slots outside
    /// the range stay: data as data, a split pointer as data, but a split
    /// entry value is dropped (its bytes must never become readable data).
    /// Works in place: only the slots overlapping the range are touched.
    pub(crate) fn forget(&mut self, lo: i64, hi: i64) {
        if lo >= hi {
            return;
        }
        // Slots are sorted and disjoint, so those overlapping `[lo, hi)` are
        // the contiguous run `i..j`.
        let i = self.slots.partition_point(|s| s.end() <= lo);
        let j = i + self.slots[i..].partition_point(|s| s.off < hi);
        if i == j {
            return;
        }
        let (first, last) = (self.slots[i], self.slots[j - 1]);
        let keeps = |s: &Slot| !matches!(s.val, Val::Entry(_));
        let left = (first.off < lo && keeps(&first)).then(|| data_slot(first.off, lo));
        let right = (last.end() > hi && keeps(&last)).then(|| data_slot(hi, last.end()));
        self.slots.splice(i..j, left.into_iter().chain(right));
    }

    /// Writes `len` bytes holding `val` at `off`.
    pub(crate) fn store(&mut self, off: i64, len: u8, val: Val) {
        if !val.is_special() {
            return self.store_data(off, len);
        }
        let val = for_memory(val);
        let idx = self.clear_for_store(off, len);
        if val.is_special() && len == 8 {
            self.slots.insert(idx, Slot { off, len: 8, val });
        } else {
            self.insert_data(idx, off, off + i64::from(len));
        }
    }

    /// [`State::store`] of plain data (any value that is not special),
    /// without building or copying a value.
    #[inline(always)]
    pub(crate) fn store_data(&mut self, off: i64, len: u8) {
        let hi = off + i64::from(len);
        // The first slot ending after `off`: where fresh bytes go (the
        // usual spill), else the first one they overwrite.
        let first = self.slots.partition_point(|s| s.end() <= off);
        if self.slots.get(first).is_some_and(|s| s.off < hi) {
            return self.store_data_over(off, hi);
        }
        // Fresh bytes: one search, the neighbours merged in place.
        let before = first
            .checked_sub(1)
            .filter(|&p| self.slots[p].is_data() && self.slots[p].end() == off);
        let after = self
            .slots
            .get(first)
            .is_some_and(|s| s.is_data() && s.off == hi);
        match (before, after) {
            (Some(p), true) => {
                let end = self.slots[first].end();
                self.slots[p].len = data_len(self.slots[p].off, end);
                self.slots.remove(first);
            }
            (Some(p), false) => self.slots[p].len = data_len(self.slots[p].off, hi),
            (None, true) => {
                let n = &mut self.slots[first];
                n.len = data_len(off, n.end());
                n.off = off;
            }
            (None, false) => self.slots.insert(first, data_slot(off, hi)),
        }
    }

    /// [`State::store_data`] of bytes `[off, hi)` some of which are written.
    #[inline(never)]
    fn store_data_over(&mut self, off: i64, hi: i64) {
        self.forget(off, hi);
        let idx = self.slots.partition_point(|s| s.off < off);
        self.insert_data(idx, off, hi);
    }

    /// Forgets what `[off, off + len)` held; returns the index where slots
    /// for those bytes go.
    #[inline]
    fn clear_for_store(&mut self, off: i64, len: u8) -> usize {
        let hi = off + i64::from(len);
        // The first slot ending after `off`: where the new bytes go when
        // they overwrite nothing (a fresh spill), else what is forgotten.
        let first = self.slots.partition_point(|s| s.end() <= off);
        if self.slots.get(first).is_some_and(|s| s.off < hi) {
            self.forget(off, hi);
            self.slots.partition_point(|s| s.off < off)
        } else {
            first
        }
    }

    /// Inserts plain bytes `[lo, hi)` (unwritten before) at index `idx`,
    /// merging with touching data neighbours to keep the list canonical.
    fn insert_data(&mut self, idx: usize, lo: i64, hi: i64) {
        let before = idx
            .checked_sub(1)
            .filter(|&p| self.slots[p].is_data() && self.slots[p].end() == lo);
        let after = Some(idx).filter(|&n| {
            self.slots
                .get(n)
                .is_some_and(|s| s.is_data() && s.off == hi)
        });
        match (before, after) {
            (Some(p), Some(n)) => {
                let end = self.slots[n].end();
                self.slots[p] = data_slot(self.slots[p].off, end);
                self.slots.remove(n);
            }
            (Some(p), None) => self.slots[p] = data_slot(self.slots[p].off, hi),
            (None, Some(n)) => self.slots[n] = data_slot(lo, self.slots[n].end()),
            (None, None) => self.slots.insert(idx, data_slot(lo, hi)),
        }
    }

    /// An indexed store somewhere in `[lo, hi)`: bytes written stay written
    /// (as plain data: any of them may have been overwritten), a saved
    /// register there is lost, unwritten bytes stay unwritten.
    pub(crate) fn demote_range(&mut self, lo: i64, hi: i64) {
        let i = self.slots.partition_point(|s| s.end() <= lo);
        let j = i + self.slots[i..].partition_point(|s| s.off < hi);
        let specials: Vec<Slot> = self.slots[i..j]
            .iter()
            .filter(|s| !s.is_data())
            .copied()
            .collect();
        for s in specials {
            self.forget(s.off, s.end());
            if !matches!(s.val, Val::Entry(_)) {
                let idx = self.slots.partition_point(|x| x.off < s.off);
                self.insert_data(idx, s.off, s.end());
            }
        }
    }

    /// Every written byte becomes plain data (a callee may have overwritten
    /// it through a pointer).
    pub(crate) fn demote(&mut self) {
        let old = std::mem::take(&mut self.slots);
        for s in old {
            push_data(&mut self.slots, s.off, s.end());
        }
    }

    /// [`State::join_from`] for register `r` where both states hold a
    /// number, or an offset into the same buffer, there: the general rule
    /// ([`Val::join_with`], then the reduction by the joined symbol facts,
    /// `joined` where they changed) without moving
    /// whole values. Whether `self` changed; `None` for other values.
    #[inline(never)]
    fn join_num_at(
        &mut self,
        other: &State,
        r: usize,
        joined: Option<&Syms>,
        thresholds: Option<&[i64]>,
    ) -> Option<bool> {
        let is_num = match (self.head(r), other.head(r)) {
            (Head::Num, Head::Num) => true,
            (Head::Ptr(i), Head::Ptr(k)) if i == k => false,
            _ => return None,
        };
        // The common case at a fixpoint: no relation on either side, one
        // identity, and `other`'s range inside `self`'s. Then the join
        // (widening too: nothing grew) is `self`'s number, which the
        // symbol facts cannot narrow (it has no relation).
        let (a, b) = (&self.nums[r], &other.nums[r]);
        if a.rel == Rel::NONE
            && b.rel == Rel::NONE
            && a.id == b.id
            && a.s.includes(b.s)
            && !(is_num && a.is_unknown())
        {
            return Some(false);
        }
        // Neither has a relation: the general rule joins (or widens) the
        // scalars alone (no relation is derived from a side without one,
        // and the symbol facts narrow nothing without one), so only the
        // range and the identity are written.
        if a.rel == Rel::NONE && b.rel == Rel::NONE {
            let id = same_id(a, b);
            let s = match thresholds {
                Some(t) => widen_join(a.s, b.s, t),
                None => a.s.join(b.s),
            };
            if is_num && id == NO_ID && s.is_unknown() {
                self.set_reg(r, Val::Data(8));
                return Some(true);
            }
            let changed = s != a.s || id != a.id;
            if changed {
                let n = &mut self.nums[r];
                n.s = s;
                n.id = id;
            }
            return Some(changed);
        }
        Some(self.join_rel_num_at(other, r, is_num, joined, thresholds))
    }

    /// [`State::join_num_at`] where either number has a relation (out of
    /// line: the relations' join and the reduction make a large frame).
    #[inline(never)]
    fn join_rel_num_at(
        &mut self,
        other: &State,
        r: usize,
        is_num: bool,
        joined: Option<&Syms>,
        thresholds: Option<&[i64]>,
    ) -> bool {
        let n = join_nums(
            &self.nums[r],
            &other.nums[r],
            &self.syms,
            &other.syms,
            thresholds,
        );
        // A number about which nothing is known is plain data.
        if is_num && n.is_unknown() {
            self.set_reg(r, Val::Data(8));
            return true;
        }
        let m = n.reduce(joined.unwrap_or(&self.syms)).unwrap_or(n);
        if is_num && m.is_unknown() {
            self.set_reg(r, Val::Data(8));
            true
        } else if m != self.nums[r] {
            self.nums[r] = m;
            true
        } else {
            false
        }
    }

    /// Merges `other` into `self`; returns whether `self` changed.
    /// `scratch` is a reusable buffer (its contents are irrelevant). At a
    /// loop head `widen` holds the symbols' entry ranges and the widening
    /// thresholds: bounds that grew
    /// jump to their limits (a symbol's to its entry range), so the
    /// iteration ends after a few visits.
    pub(crate) fn join_from(
        &mut self,
        other: &State,
        scratch: &mut Vec<Slot>,
        widen: Option<(&Syms, &[i64])>,
    ) -> bool {
        // Equal facts join to themselves (most joins: the symbols change only
        // where a branch narrows one).
        if self.same_syms(other) {
            self.join_under(other, scratch, widen, None)
        } else {
            self.join_syms_from(other, scratch, widen)
        }
    }

    /// [`State::join_from`] where the symbol facts differ (out of line: the
    /// joined facts make a large frame).
    #[inline(never)]
    fn join_syms_from(
        &mut self,
        other: &State,
        scratch: &mut Vec<Slot>,
        widen: Option<(&Syms, &[i64])>,
    ) -> bool {
        let joined = join_syms(&self.syms, &other.syms, widen.map(|w| w.0));
        if joined == self.syms {
            self.join_under(other, scratch, widen, None)
        } else {
            self.join_under(other, scratch, widen, Some(&joined))
        }
    }

    /// [`State::join_from`] given the joined symbol facts where they differ
    /// from `self`'s (`None`: `self`'s stay).
    #[inline(always)]
    fn join_under(
        &mut self,
        other: &State,
        scratch: &mut Vec<Slot>,
        widen: Option<(&Syms, &[i64])>,
        joined: Option<&Syms>,
    ) -> bool {
        let mut changed = false;
        // Equal values join to themselves: most registers agree.
        let mut diff = self.differing_regs(other);
        while diff != 0 {
            let r = diff.trailing_zeros() as usize;
            diff &= diff - 1;
            let thresholds = widen.map(|w| w.1);
            // Two numbers, or two offsets into one buffer: joined where
            // they are.
            if (self.with_num & other.with_num) >> r & 1 != 0
                && let Some(c) = self.join_num_at(other, r, joined, thresholds)
            {
                changed |= c;
                continue;
            }
            // Any other two different values ([`Val::join`]): undefined
            // where either is undefined or an entry value, else data with
            // the bytes both define.
            let kind = if self.reg_is_undefined(r) || other.reg_is_undefined(r) {
                K_UNDEF
            } else {
                K_DATA | u16::from(self.reg_defined_bytes(r).min(other.reg_defined_bytes(r)))
            };
            if self.kinds[r] != kind {
                self.kinds[r] = kind;
                self.offs[r] = 0;
                self.with_num &= !(1 << r);
                changed = true;
            }
        }
        if let Some(j) = joined {
            self.set_syms(j);
            changed = true;
        }
        if self.cmp != other.cmp && self.cmp.is_some() {
            self.cmp = None;
            changed = true;
        }
        if self.sext != other.sext && self.sext != 0 {
            self.sext = 0;
            changed = true;
        }
        let f = self.flags & other.flags;
        if f != self.flags {
            self.flags = f;
            changed = true;
        }
        // The deepest byte touched on every path is the shallower one.
        if other.touched > self.touched {
            self.touched = other.touched;
            changed = true;
        }
        if !same_slots(&self.slots, &other.slots) {
            join_slots(&self.slots, &other.slots, scratch, widen.is_some());
            if !same_slots(scratch, &self.slots) {
                std::mem::swap(&mut self.slots, scratch);
                changed = true;
            }
        }
        changed
    }
}

/// The symbol facts true on both paths: each range's hull, and the weaker
/// bound-symbol bound. At a loop head (`widen`: the entry ranges) a range
/// that grew jumps to its entry range, and a bound that grew is lost.
#[inline(never)]
fn join_syms(a: &Syms, b: &Syms, widen: Option<&Syms>) -> Syms {
    let mut syms = *a;
    for (k, (x, y)) in syms.ranges.iter_mut().zip(b.ranges.iter()).enumerate() {
        if let (Some(p), Some(q)) = (*x, *y) {
            let hull = (p.0.min(q.0), p.1.max(q.1));
            *x = match widen.map(|w| w.ranges[k]) {
                Some(Some(entry)) if hull != p => Some(entry),
                // The bound symbol's facts have no entry range: a
                // loop that keeps changing them loses them.
                Some(None) if hull != p => None,
                _ => Some(hull),
            };
        } else {
            *x = None;
        }
    }
    // The bound symbol's upper bounds: the weaker; at a loop head one
    // that grew is lost.
    for (x, &y) in syms.bounds.iter_mut().zip(b.bounds.iter()) {
        if y > *x {
            *x = if widen.is_some() {
                crate::num::POS_INF
            } else {
                y
            };
        }
    }
    syms
}

/// The bytes written on both paths: each byte written in `a` and in `b`
/// stays; an 8-byte special slot equal on both sides keeps its value, any
/// other overlap is plain data, except that bytes holding an entry value on
/// either side are dropped unless both sides hold the same exact slot.
/// Both inputs and the output are canonical.
#[inline(never)]
fn join_slots(a: &[Slot], b: &[Slot], out: &mut Vec<Slot>, widen: bool) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let lo = x.off.max(y.off);
        let hi = x.end().min(y.end());
        if lo < hi {
            if x == y && !x.is_data() {
                out.push(x);
            } else if x.off == y.off && x.len == 8 && y.len == 8 && !x.is_data() && !y.is_data() {
                match x.val.join(y.val) {
                    Val::Undef => {}
                    // Widening: a number that changed is forgotten.
                    Val::Num(_) | Val::Ptr(..) if widen => push_data(out, lo, hi),
                    Val::Data(_) => push_data(out, lo, hi),
                    v => out.push(Slot {
                        off: lo,
                        len: 8,
                        val: v,
                    }),
                }
            } else if !matches!(x.val, Val::Entry(_)) && !matches!(y.val, Val::Entry(_)) {
                push_data(out, lo, hi);
            }
        }
        if x.end() <= y.end() {
            i += 1;
        } else {
            j += 1;
        }
    }
}

/// Whether two slot lists are equal (`==` on each pair of slots), with
/// plain data bytes, most of a frame, compared without a call.
fn same_slots(a: &[Slot], b: &[Slot]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.off == y.off
                && x.len == y.len
                && match (&x.val, &y.val) {
                    (Val::Data(p), Val::Data(q)) => p == q,
                    (v, w) => v == w,
                }
        })
}

/// Appends plain bytes `[lo, hi)` (at or after the last slot's end),
/// merging with a touching data slot.
fn push_data(out: &mut Vec<Slot>, lo: i64, hi: i64) {
    if let Some(last) = out.last_mut()
        && last.is_data()
        && last.end() == lo
    {
        *last = data_slot(last.off, hi);
        return;
    }
    out.push(data_slot(lo, hi));
}

fn data_slot(a: i64, b: i64) -> Slot {
    Slot {
        off: a,
        len: data_len(a, b),
        val: Val::Data(8),
    }
}

/// The length of the run `[a, b)` (offsets are bounded by the frame limit,
/// so it fits).
fn data_len(a: i64, b: i64) -> u32 {
    u32::try_from(b - a).unwrap_or(0)
}

#[cfg(test)]
mod tests;
