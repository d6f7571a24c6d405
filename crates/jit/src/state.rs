//! The abstract machine state tracked at each program point.
//!
//! Registers are indexed by iced's 64-bit GPR number (0 = rax … 15 = r15).
//! Each holds a [`Val`]: undefined, data with its low `n` bytes defined, the
//! caller's untouched value of a callee-saved register, or a pointer known as
//! entry-`rsp` + k (`Stack`) or pointer parameter + k (`Param`). Stack memory
//! is a sorted list of non-overlapping written [`Slot`]s at offsets from the
//! entry `rsp`; bytes not covered are unwritten. Joins only lose information,
//! so the fixpoint iteration terminates.

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
}

impl Val {
    /// Defined low bytes when read as data.
    pub(crate) fn defined_bytes(self) -> u8 {
        match self {
            Val::Undef | Val::Entry(_) => 0,
            Val::Data(n) => n,
            Val::Stack(_) | Val::Param(..) => 8,
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
            (a, b) => Val::Data(a.defined_bytes().min(b.defined_bytes())),
        }
    }
}

/// A written run of stack bytes `[off, off + len)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) off: i64,
    pub(crate) len: u8,
    /// `Data(len)` for plain bytes, or a special value for an 8-byte slot.
    pub(crate) val: Val,
}

/// The state at one program point.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) regs: [Val; 16],
    /// Defined arithmetic flags (subset of [`ARITH_FLAGS`]).
    pub(crate) flags: u32,
    pub(crate) slots: Vec<Slot>,
}

impl Clone for State {
    fn clone(&self) -> State {
        State {
            regs: self.regs,
            flags: self.flags,
            slots: self.slots.clone(),
        }
    }

    /// Reuses `self`'s slot buffer (the derived version would reallocate).
    fn clone_from(&mut self, source: &State) {
        self.regs = source.regs;
        self.flags = source.flags;
        self.slots.clone_from(&source.slots);
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
            regs: [Val::Undef; 16],
            flags: 0,
            slots: Vec::new(),
        }
    }

    /// `rsp` as an offset from its entry value.
    pub(crate) fn rsp(&self) -> i64 {
        match self.regs[RSP] {
            Val::Stack(k) => k,
            // The interpreter never lets rsp become anything else.
            _ => i64::MIN,
        }
    }

    /// Reads `len` bytes at `off`.
    pub(crate) fn load(&self, off: i64, len: u8) -> Load {
        let end = off + i64::from(len);
        let start_idx = self
            .slots
            .partition_point(|s| s.off + i64::from(s.len) <= off);
        let mut at = off;
        let mut single = None;
        for s in &self.slots[start_idx..] {
            if at >= end {
                break;
            }
            if s.off > at {
                return Load::Missing(at);
            }
            if let Val::Entry(_) = s.val {
                // A saved callee-saved value is only readable by an exact move.
                if !(s.off == off && s.len == len) {
                    return Load::Missing(at);
                }
            }
            if s.off == off && s.len == len {
                single = Some(s.val);
            }
            at = s.off + i64::from(s.len);
        }
        if at < end {
            return Load::Missing(at);
        }
        match single {
            Some(v) if len == 8 => Load::Value(v),
            _ => Load::Value(Val::Data(len.min(8))),
        }
    }

    /// Removes every written byte in `[lo, hi)`, keeping the rest as data.
    /// Works in place: only the slots overlapping the range are touched.
    pub(crate) fn forget(&mut self, lo: i64, hi: i64) {
        if lo >= hi {
            return;
        }
        // Slots are sorted and disjoint, so those overlapping `[lo, hi)` are
        // the contiguous run `i..j`.
        let i = self
            .slots
            .partition_point(|s| s.off + i64::from(s.len) <= lo);
        let j = i + self.slots[i..].partition_point(|s| s.off < hi);
        if i == j {
            return;
        }
        let (first, last) = (self.slots[i], self.slots[j - 1]);
        let left = (first.off < lo).then(|| data_slot(first.off, lo));
        let last_end = last.off + i64::from(last.len);
        let right = (last_end > hi).then(|| data_slot(hi, last_end));
        self.slots.splice(i..j, left.into_iter().chain(right));
    }

    /// Writes `len` bytes holding `val` at `off`.
    pub(crate) fn store(&mut self, off: i64, len: u8, val: Val) {
        let hi = off + i64::from(len);
        self.forget(off, hi);
        let val = match val {
            Val::Stack(_) | Val::Param(..) | Val::Entry(_) if len == 8 => val,
            _ => Val::Data(len),
        };
        let idx = self.slots.partition_point(|s| s.off < off);
        self.slots.insert(idx, Slot { off, len, val });
    }

    /// Merges `other` into `self`; returns whether `self` changed.
    pub(crate) fn join_from(&mut self, other: &State) -> bool {
        let mut changed = false;
        for (a, b) in self.regs.iter_mut().zip(other.regs.iter()) {
            // Equal values join to themselves: most registers agree.
            if *a != *b {
                let j = a.join(*b);
                if j != *a {
                    *a = j;
                    changed = true;
                }
            }
        }
        let f = self.flags & other.flags;
        if f != self.flags {
            self.flags = f;
            changed = true;
        }
        if self.slots != other.slots {
            // Keep the slots written identically on both paths, in place.
            let len = self.slots.len();
            let mut kept = 0;
            let mut j = 0;
            for r in 0..len {
                let s = self.slots[r];
                while j < other.slots.len() && other.slots[j].off < s.off {
                    j += 1;
                }
                let Some(o) = other.slots.get(j) else { break };
                if o.off != s.off || o.len != s.len {
                    continue;
                }
                let val = match s.val.join(o.val) {
                    Val::Undef => continue,
                    Val::Data(_) => Val::Data(s.len),
                    v => v,
                };
                let slot = Slot { val, ..s };
                changed |= kept != r || slot != s;
                self.slots[kept] = slot;
                kept += 1;
            }
            if kept != len {
                self.slots.truncate(kept);
                changed = true;
            }
        }
        changed
    }
}

fn data_slot(a: i64, b: i64) -> Slot {
    // Pieces come from slots of at most 8 bytes, so the length fits.
    let len = u8::try_from(b - a).unwrap_or(8);
    Slot {
        off: a,
        len,
        val: Val::Data(len),
    }
}
