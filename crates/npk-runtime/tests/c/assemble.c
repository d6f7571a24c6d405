/* Jit.assemble from C (run by tests/jit_assemble.rs): size, alloc, install, seal, call; errors
 * arrive through npk_jit_last_error and nothing is printed. Prints one line per case. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "npk_runtime.h"

static const char *SUM =
    "# sum of 1..n\n"
    "xor eax, eax\n"
    "test rdi, rdi\n"
    "jle done\n"
    "top: add rax, rdi\n"
    "dec rdi\n"
    "jnz top\n"
    "done: ret\n";

int main(void) {
    const char *sig = "int64(int64)";
    int64_t n = npk_jit_assemble_size(SUM, sig);
    void *page = npk_wildx_alloc((size_t)n);
    if (page == NULL) return 1;
    int32_t rc = npk_jit_assemble_install(page, SUM, sig);
    int32_t sealed = npk_wildx_seal(page);
    int32_t status = -1;
    int64_t r = npk_jit_try_call_i64_i64(page, 100, &status);
    printf("size=%lld install=%d seal=%d sum=%lld status=%d error=[%s]\n", (long long)n, rc,
           sealed, (long long)r, status, npk_jit_last_error());
    npk_wildx_free(page);

    /* The size call first: npk_jit_last_error is valid until the next assemble call. */
    n = npk_jit_assemble_size("ret\nmov rax,", sig);
    printf("size=%lld error=[%s]\n", (long long)n, npk_jit_last_error());

    page = npk_wildx_alloc(64);
    rc = npk_jit_assemble_install(page, "mov rax, rdi\nadd rax, [rdi]\nret", sig);
    printf("install=%d error=[%s]\n", rc, npk_jit_last_error());
    rc = npk_jit_assemble_install(NULL, "xor eax, eax; ret", sig);
    printf("install=%d error=[%s]\n", rc, npk_jit_last_error());
    npk_wildx_free(page);
    return 0;
}
