/* Code arenas from C through npk_runtime.h (run by tests/c_abi.rs): create, validated add,
 * seal, checked calls, refusals before seal and after free, size edges, statistics. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "npk_runtime.h"
#include "check.h"

static const unsigned char LEA[] = {0x48, 0x8d, 0x04, 0x37, 0xc3};   /* lea rax,[rdi+rsi]; ret */
static const unsigned char MUL[] = {0x48, 0x89, 0xf8, 0x48, 0x0f, 0xaf, 0xc6, 0xc3}; /* rax=rdi*rsi */
static const unsigned char ADD32[] = {0x89, 0xf8, 0x01, 0xf0, 0xc3};  /* int32 add */
static const unsigned char SYSCALL[] = {0x0f, 0x05, 0xc3};
static const char *I64_2 = "int64(int64,int64)";

int main(void) {
    int32_t st = -1;
    uint64_t live0 = npk_wildx_stat_live_allocations();
    uint64_t mapped0 = npk_wildx_stat_mapped_bytes();

    unsigned char *ar = npk_wildx_arena_create(4000);
    CHECK(ar != NULL && ((uintptr_t)ar & 4095) == 0);
    CHECK(npk_wildx_stat_live_allocations() == live0 + 1);
    CHECK(npk_wildx_stat_mapped_bytes() == mapped0 + 4096);

    void *f = npk_jit_arena_add(ar, LEA, sizeof LEA, I64_2);
    void *g = npk_jit_arena_add(ar, MUL, sizeof MUL, I64_2);
    void *h = npk_jit_arena_add(ar, ADD32, sizeof ADD32, "int32(int32,int32)");
    CHECK(f == ar && g == ar + 64 && h == ar + 128);
    CHECK(strcmp(npk_jit_last_error(), "") == 0);

    /* refused adds: nothing is added, the reason is in npk_jit_last_error */
    CHECK(npk_jit_arena_add(ar, SYSCALL, sizeof SYSCALL, I64_2) == NULL);
    CHECK(strlen(npk_jit_last_error()) > 0);
    CHECK(npk_jit_arena_add(ar, LEA, sizeof LEA, "int64(") == NULL);
    CHECK(npk_jit_arena_add(ar, NULL, 5, I64_2) == NULL);
    CHECK(npk_jit_arena_add(ar, LEA, 0, I64_2) == NULL);
    CHECK(npk_jit_arena_add(NULL, LEA, sizeof LEA, I64_2) == NULL);
    int local = 0;
    CHECK(npk_jit_arena_add(&local, LEA, sizeof LEA, I64_2) == NULL);

    /* not callable before the seal */
    CHECK(npk_jit_try_call_i64_i64_i64(f, 40, 2, &st) == 0 && st == NPK_JIT_ERR_NOT_SEALED);
    CHECK(npk_jit_try_call_i32_i32(h, 40, 2, &st) == 0 && st == NPK_JIT_ERR_NOT_SEALED);

    CHECK(npk_wildx_arena_seal(ar) == 0);
    CHECK(npk_wildx_arena_seal(ar) == -1);
    CHECK(npk_jit_arena_add(ar, LEA, sizeof LEA, I64_2) == NULL);
    CHECK(strstr(npk_jit_last_error(), "sealed") != NULL);

    CHECK(npk_jit_try_call_i64_i64_i64(f, 40, 2, &st) == 42 && st == NPK_JIT_OK);
    CHECK(npk_jit_call_i64_i64_i64(g, 6, 7) == 42);
    CHECK(npk_jit_try_call_i32_i32(h, 40, 2, &st) == 42 && st == NPK_JIT_OK);
    CHECK(npk_jit_call_i32_i32(h, -5, 3) == -2);
    CHECK(npk_jit_try_call_i64_i64(f, 1, &st) == 0 && st == NPK_JIT_ERR_SIGNATURE);
    CHECK(npk_jit_try_call_i32_i32(f, 1, 1, &st) == 0 && st == NPK_JIT_ERR_SIGNATURE);
    CHECK(npk_jit_try_call_i64_i64_i64(ar + 1, 1, 1, &st) == 0 && st == NPK_JIT_ERR_NOT_OURS);
    CHECK(npk_jit_try_call_i64_i64_i64(ar + 192, 1, 1, &st) == 0 && st == NPK_JIT_ERR_NOT_OURS);
    CHECK(ar[5] == 0xcc && ar[63] == 0xcc && ar[4095] == 0xcc); /* gaps are int3 */
    CHECK(npk_wildx_free(g) == -1);                              /* a function is not a page */

    CHECK(npk_wildx_arena_free(ar) == 0);
    CHECK(npk_wildx_arena_free(ar) == -1);
    CHECK(npk_wildx_arena_seal(ar) == -1);
    CHECK(npk_jit_try_call_i64_i64_i64(f, 40, 2, &st) == 0 && st == NPK_JIT_ERR_FREED);
    CHECK(npk_jit_try_call_i64_i64_i64(g, 6, 7, &st) == 0 && st == NPK_JIT_ERR_FREED);
    CHECK(npk_jit_try_call_i32_i32(h, 1, 1, &st) == 0 && st == NPK_JIT_ERR_FREED);

    /* ... and still refused after many later arenas */
    for (int i = 0; i < 5000; i++) {
        void *a = npk_wildx_arena_create(1);
        void *k = npk_jit_arena_add(a, LEA, sizeof LEA, I64_2);
        if (a == NULL || k == NULL || npk_wildx_arena_seal(a) != 0 ||
            npk_jit_call_i64_i64_i64(k, i, 1) != i + 1 || npk_wildx_arena_free(a) != 0) {
            failures++;
            break;
        }
    }
    CHECK(npk_jit_try_call_i64_i64_i64(g, 6, 7, &st) == 0 &&
          (st == NPK_JIT_ERR_FREED || st == NPK_JIT_ERR_NOT_OURS));

    /* a page is not an arena */
    void *page = npk_wildx_alloc(1);
    CHECK(npk_wildx_arena_seal(page) == -1 && npk_wildx_arena_free(page) == -1);
    CHECK(npk_jit_arena_add(page, LEA, sizeof LEA, I64_2) == NULL);
    CHECK(npk_wildx_free(page) == 0);

    /* exactly full, then one more is refused; sizes */
    unsigned char fn64[64];
    memset(fn64, 0x90, sizeof fn64); /* 60 nops; mov rax, rdi; ret */
    memcpy(fn64 + 60, "\x48\x89\xf8\xc3", 4);
    unsigned char *full = npk_wildx_arena_create(4096);
    int added = 0;
    for (int i = 0; i < 64; i++) {
        added += npk_jit_arena_add(full, fn64, sizeof fn64, I64_2) == full + 64 * i;
    }
    CHECK(added == 64);
    CHECK(npk_jit_arena_add(full, ADD32, 1, I64_2) == NULL);
    CHECK(strstr(npk_jit_last_error(), "full") != NULL);
    CHECK(npk_wildx_seal(full) == 0 && npk_wildx_free(full) == 0); /* page calls take arenas */
    CHECK(npk_wildx_arena_create(0) == NULL);
    CHECK(npk_wildx_arena_create(SIZE_MAX) == NULL);

    CHECK(npk_wildx_stat_live_allocations() == live0);
    CHECK(npk_wildx_stat_mapped_bytes() == mapped0);
    npk_print_cstr("arena failures=");
    npk_print_i64(failures);
    npk_print_cstr("\n");
    npk_exit(failures ? 1 : 0);
}
