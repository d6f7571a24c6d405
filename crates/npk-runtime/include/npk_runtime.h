/* npk_runtime.h - C ABI of the Nitpick runtime (libnpk_runtime.a).
 *
 * Link: cc prog.c libnpk_runtime.a -lpthread -ldl -lm
 * Kept in sync with crates/npk-runtime/src/abi.rs by tests/header.rs.
 * All wildx/jit functions are thread-safe (gc: one mutator thread, see below). Refusals
 * print one stderr line "wildx: <op>(<ptr>) rejected: <reason>" (unless NPK_WILDX_QUIET=1)
 * and record the reason for npk_jit_last_error.
 * Environment (read once): NPK_WILDX_AUDIT=1, NPK_WILDX_GUARD_PAGES=1,
 * NPK_WILDX_VERIFY=1, NPK_WILDX_QUOTA=<bytes> (default 64 MiB), NPK_JIT_STRICT=1,
 * NPK_WILDX_QUIET=1, NPK_PERF_MAP=1 (sealed pages listed in /tmp/perf-<pid>.map).
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
/* What npk_jit_sig_identity returns for a signature without a page identity. */
#define NPK_JIT_NO_IDENTITY 0xFFFFFFFFu

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
 * copies them into a fresh wildx page, seals it with the signature's tag. code must be
 * readable for len bytes (1..=1 MiB; the extent of a raw pointer cannot be checked). NULL on failure,
 * with the reason from npk_jit_last_error. Free with npk_wildx_free. */
void *npk_jit_compile(const void *code, int64_t len, const char *sig);
/* Validates len bytes at code for sig and copies them into the writable page `page` of ours,
 * recording the signature; npk_wildx_seal keeps it only if the page is unchanged since.
 * 0, or -1 with the reason from npk_jit_last_error. */
int32_t npk_jit_install(void *page, const void *code, int64_t len, const char *sig);
/* Assembles text (Intel syntax as `objdump -M intel` prints it: one instruction per line or
 * ';'-separated, labels "name:", '#' comments) for sig; returns the bytes a page needs, or -1
 * with the reason ("line L, column C: expected ...") from npk_jit_last_error. Allocates nothing. */
int64_t npk_jit_assemble_size(const char *text, const char *sig);
/* Validates the assembled text (reusing the preceding npk_jit_assemble_size of the same text
 * and sig, else assembling again) for sig as code running at page, and copies it into the
 * writable page of ours (at least npk_jit_assemble_size bytes), recording the signature; seal
 * with npk_wildx_seal. 0, or -1 with the reason from npk_jit_last_error; a rejection names the
 * source line ("line 3: `add rax, [rdi]`: ..."). Neither assemble call prints anything. */
int32_t npk_jit_assemble_install(void *page, const char *text, const char *sig);
/* Jit.call's check: the entry point of p if it is sealed, live, ours and proven for exactly
 * sig ("int32(int32,int32)", "int64(int64* xs[n], int64 n)"; parameter names do not matter);
 * else NULL, with the reason from npk_jit_last_error, which names both signatures in
 * canonical form, and the NPK_JIT_ERR_* code from npk_jit_fn_refusal; a page sealed without a signature is
 * refused: NPK_JIT_ERR_UNSIGNED. Call the pointer only with that SysV signature (a buffer is a
 * pointer to its first element, and the caller promises it holds `extent` elements) and only
 * while the page is live. _tag takes the signature's page identity instead of its text:
 * npk_jit::Signature::tag() for a scalar signature (what npkc emits), or what
 * npk_jit_sig_identity returned; identity 0 and NPK_JIT_NO_IDENTITY are always refused. */
const void *npk_jit_fn(void *p, const char *sig);
const void *npk_jit_fn_tag(void *p, uint32_t tag);
/* The page identity of sig, interned for the rest of the process if sig has buffers (at most
 * 16384 distinct ones); NPK_JIT_NO_IDENTITY, which no page has, with the reason from
 * npk_jit_last_error if sig is NULL, malformed or the table is full. */
uint32_t npk_jit_sig_identity(const char *sig);
int32_t npk_jit_fn_refusal(void);
/* Asm builders (stdlib/asm.npk): the text of the builder whose npk_alloc block is `a`, kept
 * by address (the block is never read). begin starts an empty text (0, or -1 for NULL); emit
 * appends line and a newline (0, or -1 with the reason from npk_jit_last_error if `a` is not
 * a live builder); text returns the NUL-terminated text (valid until the next change of `a`)
 * or NULL; end drops the text (0, or -1 if `a` was not a live builder). */
int32_t npk_asm_begin(void *a);
int32_t npk_asm_emit(void *a, const char *line);
const char *npk_asm_text(void *a);
int32_t npk_asm_end(void *a);
/* Assembles text for sig, validates it at the address it gets in the writable code arena and
 * adds it there (next 64-byte boundary), recording the signature. Returns the function's
 * address (owned by the arena: never free it), or NULL with the reason from npk_jit_last_error.
 * Prints nothing. */
void *npk_jit_arena_assemble(void *arena, const char *text, const char *sig);
/* Reason for this thread's last refused operation (alloc, compile, install, arena_add,
 * assemble_size/assemble_install/arena_assemble, seal, free, call); "" after a successful
 * compile/install/arena_add/assemble. Valid until the next refusal or install on this
 * thread; never NULL. */
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

/* --- garbage collector (npk-gc; design, thread model and codegen ABI: docs/gc.md) ------ */

/* Status codes of the npk_gc_* and npk_shadow_stack_* functions (0 = done). */
#define NPK_GC_OK 0
#define NPK_GC_ERR_NOT_OBJECT 1       /* not the start of a live gc object */
#define NPK_GC_ERR_WRONG_KIND 2       /* int access on a ref array or the reverse */
#define NPK_GC_ERR_BOUNDS 3           /* element index < 0 or >= length */
#define NPK_GC_ERR_WRONG_THREAD 4     /* the heap belongs to another mutator thread */
#define NPK_GC_ERR_NULL 5             /* NULL slot / frame / out pointer */
#define NPK_GC_ERR_MISALIGNED 6       /* slot or frame pointer not 8-byte aligned */
#define NPK_GC_ERR_ALREADY_ROOTED 7   /* add_root of a registered slot */
#define NPK_GC_ERR_NOT_ROOTED 8       /* remove_root of an unregistered slot */
#define NPK_GC_ERR_NOT_REFERENCE 9    /* set_ref value neither NULL nor a live object */
#define NPK_GC_ERR_OUT_OF_MEMORY 10   /* heap limit reached after a full collection */
#define NPK_GC_ERR_FRAME 11           /* pop of a frame that is not the top one */
#define NPK_GC_ERR_BAD_SIZE 12        /* negative or too large element count */
#define NPK_GC_ERR_BUSY 13            /* re-entered, or poisoned by an internal failure */
#define NPK_GC_ERR_FRAMES 14          /* shadow stack too deep, or frames pushed at detach */

/* npk_gc_kind results. */
#define NPK_GC_KIND_NONE 0
#define NPK_GC_KIND_INTS 1
#define NPK_GC_KIND_REFS 2

/* Object layout: a header word, then `length` 8-byte elements; element i of the object at
 * p is at (char *)p + 8 + 8 * i; length = header >> 32. Objects move: hold them only in
 * registered slots or pushed frames across anything that may collect (allocation,
 * npk_gc_collect*, npk_gc_safepoint, npk_gc_collect_helper). */

/* Zero-filled int64 array / array of NULL references; NULL on failure (reason from
 * npk_gc_last_status: BAD_SIZE, OUT_OF_MEMORY, WRONG_THREAD). May collect. */
void *npk_gc_alloc_ints(int64_t n);
void *npk_gc_alloc_refs(int64_t n);
int32_t npk_gc_last_status(void);
/* 1 if p is the start of a live object, else 0 (also from a non-mutator thread).
 * Never dereferences p. int32, not _Bool: callers may read all of eax. */
int32_t npk_gc_is_heap_pointer_i32(const void *p);
int64_t npk_gc_length(const void *obj); /* element count, -1 if not an object */
int32_t npk_gc_kind(const void *obj);   /* NPK_GC_KIND_* */
/* Checked element access; *out is written only on success. */
int32_t npk_gc_get_int(const void *obj, int64_t i, int64_t *out);
int32_t npk_gc_set_int(void *obj, int64_t i, int64_t v);
int32_t npk_gc_get_ref(const void *obj, int64_t i, void **out);
int32_t npk_gc_set_ref(void *obj, int64_t i, void *v); /* with the write barrier */

/* Roots. A registered slot (any memory, e.g. wild or JIT data) is read and rewritten by
 * every collection until removed; non-object values in it are left alone. */
int32_t npk_shadow_stack_add_root(void **slot);
int32_t npk_shadow_stack_remove_root(void **slot);
/* Shadow-stack frame of n slots in the caller's frame (zero them first); O(1), no
 * allocation. Pop names the frame it pops: a mismatch is refused (NPK_GC_ERR_FRAME). */
int32_t npk_gc_push_frame(void **slots, int64_t n);
int32_t npk_gc_pop_frame(void **slots);

/* Collections. */
int32_t npk_gc_collect(void);         /* full: every nursery survivor moves */
int32_t npk_gc_collect_nursery(void); /* nursery only */
int32_t npk_gc_safepoint(void);       /* runs a requested collection, if any */
void npk_gc_request_collect(void);    /* any thread: collect at the next safepoint */
/* JIT helper "gc_collect", signature int64(): a full collection; 0 or a status. */
int64_t npk_gc_collect_helper(void);

/* Threads: the first thread to use the heap is its only mutator; others get
 * NPK_GC_ERR_WRONG_THREAD until it calls this (refused while frames are pushed). */
int32_t npk_gc_detach_thread(void);

/* Statistics (any thread; exact on the mutator, else as of the last collection). */
uint64_t npk_gc_stat_minor_collections(void);
uint64_t npk_gc_stat_major_collections(void);
uint64_t npk_gc_stat_peak_bytes(void);      /* highest footprint: 2 semispaces + old space */
uint64_t npk_gc_stat_live_bytes(void);      /* object bytes after the last collection */
uint64_t npk_gc_stat_used_bytes(void);      /* object bytes now */
uint64_t npk_gc_stat_allocated_bytes(void); /* bytes ever allocated */

/* --- seeing JIT code (src/pages.rs) --------------------------------------------------- */

/* Names page p (perf map, see NPK_PERF_MAP); 0, or NPK_JIT_ERR_* (9: a bad name). */
int32_t npk_jit_name(void *p, const char *name);
/* Intel-syntax listing of p's code; *status = 0 or NPK_JIT_ERR_*. The text is this thread's
 * buffer until the next npk_jit_disasm on it; never NULL. */
const char *npk_jit_disasm(void *p, int32_t *status);

/* --- template strings (compiler-owned string values; src/template.rs) ---------------- */

/* Opaque builder of one string. */
typedef struct NpkStrBuilder NpkStrBuilder;
/* A new region id of this thread (never 0; increasing). */
uint64_t npk_str_scope(void);
/* Frees this thread's template strings tagged region or later. */
void npk_str_release(uint64_t region);
/* Tags p (if it is a live template string of this thread tagged later) with region. */
void npk_str_retag(const char *p, uint64_t region);
/* Live template strings of this thread (leak tests). */
uint64_t npk_str_live(void);
NpkStrBuilder *npk_str_begin(void);
void npk_str_push_cstr(NpkStrBuilder *b, const char *s);
void npk_str_push_i64(NpkStrBuilder *b, int64_t v);
void npk_str_push_u64(NpkStrBuilder *b, uint64_t v);
void npk_str_push_bool(NpkStrBuilder *b, int32_t v);
/* Frees b; returns the string, owned by this thread's store and tagged region. */
const char *npk_str_finish(NpkStrBuilder *b, uint64_t region);

#ifdef __cplusplus
}
#endif

#endif /* NPK_RUNTIME_H */
