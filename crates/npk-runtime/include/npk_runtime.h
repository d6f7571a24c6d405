/* npk_runtime.h - C ABI of the Nitpick runtime (libnpk_runtime.a).
 *
 * Link: cc prog.c libnpk_runtime.a -lpthread -ldl -lm
 * Kept in sync with crates/npk-runtime/src/abi.rs by tests/header.rs.
 * All functions are thread-safe. Refusals print one stderr line
 * "wildx: <op>(<ptr>) rejected: <reason>".
 * Environment (read once): NPK_WILDX_AUDIT=1, NPK_WILDX_GUARD_PAGES=1,
 * NPK_WILDX_VERIFY=1, NPK_WILDX_QUOTA=<bytes> (default 64 MiB), NPK_JIT_STRICT=1.
 */
#ifndef NPK_RUNTIME_H
#define NPK_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define NPK_NORETURN [[noreturn]]
extern "C" {
#else
#define NPK_NORETURN _Noreturn
#endif

/* Refusal codes written to *status by npk_jit_try_call_* (0 = called). */
#define NPK_JIT_OK 0
#define NPK_JIT_ERR_NULL 1          /* p is NULL */
#define NPK_JIT_ERR_NOT_OURS 2      /* p is not a wildx page start nor an arena function */
#define NPK_JIT_ERR_NOT_SEALED 3    /* page (or the function's arena) is still writable */
#define NPK_JIT_ERR_FREED 4         /* page (or the function's arena) was freed */
#define NPK_JIT_ERR_SIGNATURE 5     /* recorded signature differs */
#define NPK_JIT_ERR_UNSIGNED 6      /* no signature and NPK_JIT_STRICT=1 */
#define NPK_JIT_ERR_TAMPERED 7      /* hash changed since seal (NPK_WILDX_VERIFY=1) */
#define NPK_JIT_ERR_HANDLE 8        /* page owned by a Rust handle */
#define NPK_JIT_ERR_OTHER 9

/* --- wildx: WRITABLE --seal--> EXECUTABLE --free--> FREED ------------------------- */

/* RW (never X), zero-filled, page-rounded; NULL for n == 0, overflow, quota, mmap failure. */
void *npk_wildx_alloc(size_t n);
/* 0, or -1 if NULL / foreign / freed / already sealed / mprotect failed. Also seals an arena. */
int32_t npk_wildx_seal(void *p);
/* 0, or -1 if NULL / foreign / already freed. Also frees an arena (not a function in one). */
int32_t npk_wildx_free(void *p);
/* Writes 89 f8 01 f0 c3 (mov eax,edi; add eax,esi; ret), records int32(int32,int32);
 * -1 unless p is a WRITABLE page of ours. */
int32_t npk_jit_install_add_i32(void *p);
/* Calls p as int32(int32,int32) after a lock-free check; refused calls return 0. */
int32_t npk_jit_call_i32_i32(void *p, int32_t a, int32_t b);
/* Same; *status (may be NULL) gets 0 or an NPK_JIT_ERR_* code. */
int32_t npk_jit_try_call_i32_i32(void *p, int32_t a, int32_t b, int32_t *status);
/* Quota in bytes of live pages, guard pages included (default 64 MiB). */
void npk_wildx_set_quota(size_t bytes);
size_t npk_wildx_get_quota(void);

/* Statistics. */
uint64_t npk_wildx_stat_mapped_bytes(void);      /* bytes mapped by live pages now */
uint64_t npk_wildx_stat_peak_bytes(void);        /* highest mapped_bytes */
uint64_t npk_wildx_stat_live_allocations(void);  /* allocations now */
uint64_t npk_wildx_stat_total_allocations(void); /* allocations ever */
uint64_t npk_wildx_stat_total_frees(void);       /* frees ever */

/* --- code arenas: many functions in one mapping, sealed and freed as a whole ---------- */

/* RW (never X), page-rounded; holds functions at 64-byte granularity. NULL for n == 0,
 * overflow, quota, mmap failure. One allocation of its whole size in quota and statistics. */
void *npk_wildx_arena_create(size_t n);
/* Validates len bytes at code for sig at the address they will run at, copies them to the
 * next 64-byte boundary of the WRITABLE arena, records the signature. Returns the function's
 * address (owned by the arena: never free it), or NULL with the reason from
 * npk_jit_last_error. Callable through npk_jit_[try_]call_* once the arena is sealed. */
void *npk_jit_arena_add(void *arena, const void *code, int64_t len, const char *sig);
/* Fills every gap with int3 (0xCC), one mprotect to RX for all functions. 0, or -1 if
 * NULL / foreign / not an arena / freed / already sealed / mprotect failed. */
int32_t npk_wildx_arena_seal(void *arena);
/* Frees the arena and every function in it; calls through them are refused afterwards.
 * 0, or -1 if NULL / foreign / not an arena / already freed. */
int32_t npk_wildx_arena_free(void *arena);

/* --- program support ---------------------------------------------------------------- */

/* stdout, flushed at every '\n' and at exit; no newline added. */
void npk_print_cstr(const char *s);
void npk_print_i64(int64_t v);
void npk_print_u64(uint64_t v);
void npk_print_bool(int32_t v); /* "true" / "false" */
/* Zero-filled heap bytes; NULL for n == 0 or failure. Release with npk_free. */
void *npk_alloc(size_t n);
void npk_free(void *p);
/* Flushes stdout, exits with code & 0xff. */
NPK_NORETURN void npk_exit(int32_t code);

/* --- validator helpers (npk_jit_compile and typed calls) ---------------------------- */

/* Validates len bytes at code as a SysV function of signature sig ("int64(int64,int64)"),
 * copies them into a fresh wildx page, seals it with the signature's tag. NULL on failure,
 * with the reason from npk_jit_last_error. Free with npk_wildx_free. */
void *npk_jit_compile(const void *code, int64_t len, const char *sig);
/* Validates len bytes at code for sig and copies them into the writable page `page` of ours,
 * recording the signature; npk_wildx_seal keeps it only if the page is unchanged since.
 * 0, or -1 with the reason from npk_jit_last_error. */
int32_t npk_jit_install(void *page, const void *code, int64_t len, const char *sig);
/* Reason for this thread's last npk_jit_compile / npk_jit_install / npk_jit_arena_add
 * failure ("" after success); never NULL. */
const char *npk_jit_last_error(void);
/* Typed calls: refuse (0, stderr line; try forms: *status = NPK_JIT_ERR_*) a page whose
 * recorded signature differs (untagged pages allowed unless NPK_JIT_STRICT=1). p may also be
 * a function from npk_jit_arena_add: called only while its arena is sealed and live. */
int64_t npk_jit_call_i64_i64(void *p, int64_t a);
int64_t npk_jit_try_call_i64_i64(void *p, int64_t a, int32_t *status);
int64_t npk_jit_call_i64_i64_i64(void *p, int64_t a, int64_t b);
int64_t npk_jit_try_call_i64_i64_i64(void *p, int64_t a, int64_t b, int32_t *status);
int64_t npk_jit_call_i64_i64_i64_i64(void *p, int64_t a, int64_t b, int64_t c);
int64_t npk_jit_try_call_i64_i64_i64_i64(void *p, int64_t a, int64_t b, int64_t c, int32_t *status);

#ifdef __cplusplus
}
#endif

#endif /* NPK_RUNTIME_H */
