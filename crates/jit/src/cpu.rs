//! CPU features: accepted code never raises `SIGILL`.
//!
//! iced reports the CPUID features each instruction needs
//! ([`Instruction::cpuid_features`]). Everything every x86-64 CPU has (the
//! 8086–486 integer set, `X64`, `CMOV`, multi-byte `nop`) is the baseline and
//! always allowed; `endbr64` and `pause` execute as `nop` on CPUs without CET
//! or SSE2 and count as baseline too. The few extensions the validator models
//! (`popcnt`, `lzcnt`, BMI1 `tzcnt`, BMI2 `shlx`/`shrx`/`sarx`) are allowed
//! only if [`Policy::cpu`](crate::Policy::cpu) has them; any other feature
//! makes the instruction unsupported. [`CpuFeatures::host`] asks the running
//! CPU once (std's `is_x86_feature_detected!`); [`crate::Policy::runtime`]
//! uses it, and the strict default allows the baseline only.

use std::sync::OnceLock;

use iced_x86::{CpuidFeature, Instruction};

/// A set of the CPU extensions the validator can allow (beyond the x86-64
/// baseline). Small and `Copy`.
///
/// ```
/// use npk_jit::CpuFeatures;
/// let base = CpuFeatures::baseline();
/// assert!(!base.contains(CpuFeatures::BMI2));
/// assert!(CpuFeatures::all().contains(CpuFeatures::POPCNT | CpuFeatures::LZCNT));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CpuFeatures(u8);

impl CpuFeatures {
    /// `popcnt`.
    pub const POPCNT: CpuFeatures = CpuFeatures(1);
    /// `lzcnt` (ABM).
    pub const LZCNT: CpuFeatures = CpuFeatures(2);
    /// BMI1 (`tzcnt`).
    pub const BMI1: CpuFeatures = CpuFeatures(4);
    /// BMI2 (`shlx`, `shrx`, `sarx`).
    pub const BMI2: CpuFeatures = CpuFeatures(8);

    /// The x86-64 baseline only: no extension.
    #[must_use]
    pub const fn baseline() -> CpuFeatures {
        CpuFeatures(0)
    }

    /// Every extension the validator knows.
    #[must_use]
    pub const fn all() -> CpuFeatures {
        CpuFeatures(15)
    }

    /// The extensions the running CPU has (detected once per process).
    #[must_use]
    pub fn host() -> CpuFeatures {
        static HOST: OnceLock<CpuFeatures> = OnceLock::new();
        *HOST.get_or_init(|| {
            let mut f = CpuFeatures::baseline();
            #[cfg(target_arch = "x86_64")]
            {
                let detected = [
                    (std::is_x86_feature_detected!("popcnt"), CpuFeatures::POPCNT),
                    (std::is_x86_feature_detected!("lzcnt"), CpuFeatures::LZCNT),
                    (std::is_x86_feature_detected!("bmi1"), CpuFeatures::BMI1),
                    (std::is_x86_feature_detected!("bmi2"), CpuFeatures::BMI2),
                ];
                for (has, feature) in detected {
                    if has {
                        f = f | feature;
                    }
                }
            }
            f
        })
    }

    /// Whether every feature of `other` is in `self`.
    #[must_use]
    pub const fn contains(self, other: CpuFeatures) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for CpuFeatures {
    type Output = CpuFeatures;
    fn bitor(self, rhs: CpuFeatures) -> CpuFeatures {
        CpuFeatures(self.0 | rhs.0)
    }
}

/// The extensions `ins` needs, or `None` if it needs a feature outside the
/// baseline that the validator does not know (such code is unsupported).
pub(crate) fn required(ins: &Instruction) -> Option<CpuFeatures> {
    use CpuidFeature as F;
    let mut need = CpuFeatures::baseline();
    for &f in ins.cpuid_features() {
        need = need
            | match f {
                F::INTEL8086
                | F::INTEL186
                | F::INTEL286
                | F::INTEL386
                | F::INTEL486
                | F::X64
                | F::CMOV
                | F::MULTIBYTENOP
                // Both execute as `nop` where the feature is missing.
                | F::PAUSE
                | F::CET_IBT => CpuFeatures::baseline(),
                F::POPCNT => CpuFeatures::POPCNT,
                F::LZCNT => CpuFeatures::LZCNT,
                F::BMI1 => CpuFeatures::BMI1,
                F::BMI2 => CpuFeatures::BMI2,
                _ => return None,
            };
    }
    Some(need)
}
