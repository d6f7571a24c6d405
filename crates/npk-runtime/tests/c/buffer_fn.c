/* A buffer signature from C (run by tests/jit_fn_buffers.rs): npk_jit_compile validates code
 * for int64(int64* xs[n], int64 n), npk_jit_fn hands out the entry only for that signature:
 * first code that returns n without reading xs, then the summing loop of issue 11 on a real
 * array, and its off-by-one variant (i <= n), which the validator refuses. */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "npk_runtime.h"

typedef int64_t (*sum_fn)(const int64_t *xs, int64_t n);

int main(void) {
    static const unsigned char code[] = {0x48, 0x89, 0xf0, 0xc3}; /* mov rax, rsi; ret */
    void *page = npk_jit_compile(code, sizeof code, "int64(int64* xs[n], int64 n)");
    CHECK(page != NULL);
    if (page == NULL) return 1;
    const void *entry = npk_jit_fn(page, "int64(int64 *values[count], int64 count)");
    CHECK(entry == page);
    int64_t xs[4] = {1, 2, 3, 4};
    if (entry != NULL) {
        sum_fn f = (sum_fn)(uintptr_t)entry;
        printf("n=%lld\n", (long long)f(xs, 4));
    }
    CHECK(npk_jit_fn(page, "int64(int32* xs[n], int64 n)") == NULL);
    printf("refused=%d [%s]\n", npk_jit_fn_refusal(), npk_jit_last_error());
    uint32_t id = npk_jit_sig_identity("int64(int64* xs[n], int64 n)");
    CHECK(id != NPK_JIT_NO_IDENTITY && (id & 0x80000000u) != 0);
    CHECK(npk_jit_fn_tag(page, id) == page);
    CHECK(npk_wildx_free(page) == 0);
    CHECK(npk_jit_fn(page, "int64(int64* xs[n], int64 n)") == NULL);
    CHECK(npk_jit_fn_refusal() == NPK_JIT_ERR_FREED);

    /* xor eax,eax; xor ecx,ecx; test rsi,rsi; jle done; L: add rax,[rdi+rcx*8]; inc rcx;
     * cmp rcx,rsi; jl L; done: ret */
    unsigned char sum[] = {0x31, 0xc0, 0x31, 0xc9, 0x48, 0x85, 0xf6, 0x7e, 0x0c, 0x48, 0x03,
                           0x04, 0xcf, 0x48, 0xff, 0xc1, 0x48, 0x39, 0xf1, 0x7c, 0xf4, 0xc3};
    page = npk_jit_compile(sum, sizeof sum, "int64(int64* xs[n], int64 n)");
    CHECK(page != NULL);
    entry = npk_jit_fn(page, "int64(int64* xs[n], int64 n)");
    CHECK(entry == page);
    if (entry != NULL) {
        int64_t values[100];
        for (int i = 0; i < 100; i++) values[i] = i + 1;
        sum_fn f = (sum_fn)(uintptr_t)entry;
        printf("sum=%lld empty=%lld\n", (long long)f(values, 100), (long long)f(values, 0));
    }
    CHECK(page == NULL || npk_wildx_free(page) == 0);
    sum[19] = 0x7e; /* jl L -> jle L: reads xs[n] */
    CHECK(npk_jit_compile(sum, sizeof sum, "int64(int64* xs[n], int64 n)") == NULL);
    printf("off by one refused: %s\n", npk_jit_last_error()[0] != 0 ? "yes" : "no");
    printf("failures=%d\n", failures);
    return failures != 0;
}
