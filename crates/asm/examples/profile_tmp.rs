fn main() {
    let text = "push rbp\nmov rbp, rsp\nxor eax, eax\ntest rdi, rdi\njle done\ntop: add rax, rdi\ndec rdi\njnz top\ndone: pop rbp\nret";
    let mut n = 0;
    let n_iter: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20000);
    for _ in 0..n_iter {
        n += npk_asm::assemble(std::hint::black_box(text), &[])
            .unwrap()
            .code()
            .len();
    }
    println!("{n}");
}
