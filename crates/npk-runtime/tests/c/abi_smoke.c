/* Links libnpk_runtime.a from C and exercises the whole ABI (run by tests/c_abi.rs). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "npk_runtime.h"
#include "check.h"


int main(void) {
    uint64_t frees0 = npk_wildx_stat_total_frees();

    /* happy path */
    unsigned char *p = npk_wildx_alloc(16);
    CHECK(p != NULL);
    CHECK(((uintptr_t)p & 4095) == 0);
    CHECK(p[0] == 0 && p[4095] == 0);
    CHECK(npk_wildx_stat_live_allocations() == 1);
    CHECK(npk_wildx_stat_mapped_bytes() == 4096);
    CHECK(npk_jit_install_add_i32(p) == 0);
    CHECK(memcmp(p, "\x89\xf8\x01\xf0\xc3", 5) == 0);
    int32_t status = -1;
    CHECK(npk_jit_try_call_i32_i32(p, 7, 35, &status) == 0 && status == NPK_JIT_ERR_NOT_SEALED);
    CHECK(npk_wildx_seal(p) == 0);
    CHECK(npk_wildx_seal(p) == -1);
    CHECK(npk_jit_install_add_i32(p) == -1);
    CHECK(npk_jit_call_i32_i32(p, 7, 35) == 42);
    CHECK(npk_jit_try_call_i32_i32(p, -5, 3, &status) == -2 && status == NPK_JIT_OK);
    CHECK(npk_jit_try_call_i32_i32(p, 1, 1, NULL) == 2);
    CHECK(npk_wildx_free(p) == 0);
    CHECK(npk_wildx_free(p) == -1);
    CHECK(npk_jit_try_call_i32_i32(p, 7, 35, &status) == 0 && status == NPK_JIT_ERR_FREED);
    CHECK(npk_wildx_seal(p) == -1);

    /* bad pointers */
    int local = 0;
    CHECK(npk_wildx_seal(NULL) == -1);
    CHECK(npk_wildx_free(NULL) == -1);
    CHECK(npk_wildx_free(&local) == -1);
    CHECK(npk_jit_install_add_i32(&local) == -1);
    CHECK(npk_jit_try_call_i32_i32(&local, 1, 2, &status) == 0 && status == NPK_JIT_ERR_NOT_OURS);
    CHECK(npk_jit_try_call_i32_i32(NULL, 1, 2, &status) == 0 && status == NPK_JIT_ERR_NULL);

    /* hand-sealed page: no signature, called on the caller's word */
    unsigned char *q = npk_wildx_alloc(4097);
    CHECK(q != NULL);
    CHECK(npk_wildx_stat_mapped_bytes() == 8192);
    memcpy(q, "\x8d\x04\x37\xc3", 4); /* lea eax, [rdi+rsi]; ret */
    CHECK(npk_wildx_seal(q) == 0);
    CHECK(npk_jit_call_i32_i32(q, 40, 2) == 42);
    CHECK(npk_wildx_free(q) == 0);

    /* sizes */
    CHECK(npk_wildx_alloc(0) == NULL);
    CHECK(npk_wildx_alloc(SIZE_MAX) == NULL);
    CHECK(npk_wildx_alloc(SIZE_MAX - 4094) == NULL);

    /* quota */
    size_t old = npk_wildx_get_quota();
    npk_wildx_set_quota(4096);
    void *a = npk_wildx_alloc(1);
    CHECK(a != NULL);
    CHECK(npk_wildx_alloc(1) == NULL);
    CHECK(npk_wildx_free(a) == 0);
    npk_wildx_set_quota(old);

    /* statistics back to zero */
    CHECK(npk_wildx_stat_live_allocations() == 0);
    CHECK(npk_wildx_stat_mapped_bytes() == 0);
    CHECK(npk_wildx_stat_peak_bytes() == 8192);
    CHECK(npk_wildx_stat_total_allocations() == 3);
    CHECK(npk_wildx_stat_total_frees() - frees0 == 3);

    /* heap */
    char *h = npk_alloc(32);
    CHECK(h != NULL && h[31] == 0);
    npk_free(h);
    CHECK(npk_alloc(0) == NULL);
    npk_free(NULL);

    /* printing */
    npk_print_cstr("sum=");
    npk_print_i64(-42);
    npk_print_cstr(" ");
    npk_print_u64(18446744073709551615ull);
    npk_print_cstr(" ");
    npk_print_bool(1);
    npk_print_cstr(" ");
    npk_print_bool(0);
    npk_print_cstr("\n");
    npk_print_cstr(NULL);
    npk_print_cstr("\nfailures=");
    npk_print_i64(failures);
    npk_print_cstr("\nunterminated");
    npk_exit(failures ? 1 : 300); /* 300 & 0xff == 44 */
}
