//! `cargo run -p npk-runtime --example jit_add`: the JIT cycle through the C ABI, as a
//! compiled Nitpick program does it: alloc, install `add(i32, i32)`, seal, call 7 + 35, free.

use npk_runtime::{
    npk_jit_call_i32_i32, npk_jit_install_add_i32, npk_wildx_alloc, npk_wildx_free, npk_wildx_seal,
};

fn main() -> std::process::ExitCode {
    let page = npk_wildx_alloc(16);
    if page.is_null() {
        eprintln!("wildx_alloc failed");
        return std::process::ExitCode::FAILURE;
    }
    // SAFETY: `page` is a writable page from the runtime; every call re-checks it.
    let (installed, sealed, sum, freed) = unsafe {
        let installed = npk_jit_install_add_i32(page);
        let sealed = npk_wildx_seal(page);
        let sum = npk_jit_call_i32_i32(page, 7, 35);
        (installed, sealed, sum, npk_wildx_free(page))
    };
    println!("{sum}");
    if (installed, sealed, freed) == (0, 0, 0) && sum == 42 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
