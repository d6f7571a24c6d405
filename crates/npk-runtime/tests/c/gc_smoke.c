/* The garbage collector through the C ABI (run by tests/gc_c_abi.rs): allocation and
 * checked access, roots rewritten when objects move (including a slot in a wildx page and
 * one read back by JIT code after it called the collecting helper), stale pointers that no
 * longer pass npk_gc_is_heap_pointer_i32, wild pointers to a PROT_NONE page that are never
 * followed, shadow-stack frames, the one-mutator thread model, statistics. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "npk_runtime.h"
#include "check.h"


static int64_t get_int(void *obj, int64_t i) {
    int64_t v = -12345;
    CHECK(npk_gc_get_int(obj, i, &v) == NPK_GC_OK);
    return v;
}

/* push rbx; mov rbx, rdi; movabs rax, npk_gc_collect_helper; call rax;
 * mov rax, [rbx]; pop rbx; ret  --  int64(void **slot): collect, return *slot. */
static void *jit_collect_and_reload(void) {
    unsigned char code[] = {0x53, 0x48, 0x89, 0xfb, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
                            0xff, 0xd0, 0x48, 0x8b, 0x03, 0x5b, 0xc3};
    int64_t (*helper)(void) = npk_gc_collect_helper;
    memcpy(code + 6, &helper, 8);
    unsigned char *page = npk_wildx_alloc(sizeof code);
    CHECK(page != NULL);
    memcpy(page, code, sizeof code);
    CHECK(npk_wildx_seal(page) == 0);
    return page;
}

struct thread_report {
    void *obj;
    void *alloc;
    int32_t alloc_status, collect, add_root, is_heap, set_int, detach, push;
    uint64_t minor;
};

static void *other_thread(void *arg) {
    struct thread_report *r = arg;
    void *slot = NULL;
    r->alloc = npk_gc_alloc_ints(1);
    r->alloc_status = npk_gc_last_status();
    r->collect = npk_gc_collect();
    r->add_root = npk_shadow_stack_add_root(&slot);
    r->is_heap = npk_gc_is_heap_pointer_i32(r->obj);
    r->set_int = npk_gc_set_int(r->obj, 0, 1);
    r->detach = npk_gc_detach_thread();
    r->push = npk_gc_push_frame(&slot, 1);
    r->minor = npk_gc_stat_minor_collections();
    npk_gc_request_collect();
    return NULL;
}

static void *adopting_thread(void *arg) {
    int32_t *ok = arg;
    void *p = npk_gc_alloc_refs(2);
    *ok = p != NULL && npk_gc_is_heap_pointer_i32(p) == 1 && npk_gc_detach_thread() == 0;
    return NULL;
}

int main(void) {
    /* allocation and checked access */
    void *ints = npk_gc_alloc_ints(3);
    CHECK(ints != NULL && npk_gc_last_status() == NPK_GC_OK);
    CHECK(npk_gc_is_heap_pointer_i32(ints) == 1);
    CHECK(npk_gc_length(ints) == 3 && npk_gc_kind(ints) == NPK_GC_KIND_INTS);
    CHECK(get_int(ints, 2) == 0);
    CHECK(npk_gc_set_int(ints, 2, -7) == NPK_GC_OK && get_int(ints, 2) == -7);
    CHECK(((int64_t *)((char *)ints + 8))[2] == -7); /* the documented layout */
    CHECK(npk_gc_set_int(ints, 3, 1) == NPK_GC_ERR_BOUNDS);
    CHECK(npk_gc_set_int(ints, -1, 1) == NPK_GC_ERR_BOUNDS);
    int64_t untouched = 99;
    CHECK(npk_gc_get_int(ints, 5, &untouched) == NPK_GC_ERR_BOUNDS && untouched == 99);
    CHECK(npk_gc_get_int(ints, 0, NULL) == NPK_GC_ERR_NULL);
    CHECK(npk_gc_set_ref(ints, 0, NULL) == NPK_GC_ERR_WRONG_KIND);
    CHECK(npk_gc_alloc_ints(-1) == NULL && npk_gc_last_status() == NPK_GC_ERR_BAD_SIZE);
    void *refs = npk_gc_alloc_refs(2);
    CHECK(npk_gc_kind(refs) == NPK_GC_KIND_REFS);
    void *out = (void *)1;
    CHECK(npk_gc_get_ref(refs, 1, &out) == NPK_GC_OK && out == NULL);
    CHECK(npk_gc_set_int(refs, 0, 1) == NPK_GC_ERR_WRONG_KIND);
    CHECK(npk_gc_set_ref(refs, 0, (char *)ints + 8) == NPK_GC_ERR_NOT_REFERENCE);
    CHECK(npk_gc_is_heap_pointer_i32((char *)ints + 8) == 0);
    CHECK(npk_gc_is_heap_pointer_i32(NULL) == 0 && npk_gc_kind(NULL) == NPK_GC_KIND_NONE);
    CHECK(npk_gc_length(&untouched) == -1);

    /* a wild pointer to a PROT_NONE page: following it would crash this program */
    void *trap = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(trap != MAP_FAILED);
    CHECK(npk_gc_is_heap_pointer_i32(trap) == 0 && npk_gc_length(trap) == -1);
    CHECK(npk_gc_set_ref(refs, 0, trap) == NPK_GC_ERR_NOT_REFERENCE);
    CHECK(npk_gc_set_int(ints, 0, (int64_t)(intptr_t)trap) == NPK_GC_OK);
    CHECK(npk_gc_set_ref(refs, 1, ints) == NPK_GC_OK);

    /* roots: slots[1] holds refs; its neighbours and a frame slot hold the trap address */
    void *slots[3] = {trap, refs, trap};
    for (int i = 0; i < 3; i++) CHECK(npk_shadow_stack_add_root(&slots[i]) == NPK_GC_OK);
    CHECK(npk_shadow_stack_add_root(&slots[1]) == NPK_GC_ERR_ALREADY_ROOTED);
    CHECK(npk_shadow_stack_add_root(NULL) == NPK_GC_ERR_NULL);
    CHECK(npk_shadow_stack_add_root((void **)((char *)slots + 1)) == NPK_GC_ERR_MISALIGNED);
    void *frame[2] = {NULL, trap};
    CHECK(npk_gc_push_frame(frame, 2) == NPK_GC_OK);
    frame[0] = npk_gc_alloc_ints(1);
    CHECK(npk_gc_set_int(frame[0], 0, 31337) == NPK_GC_OK);
    void *unrooted = npk_gc_alloc_ints(1);
    void *old_refs = slots[1], *old_frame0 = frame[0];

    CHECK(npk_gc_collect_nursery() == NPK_GC_OK);
    CHECK(npk_gc_collect() == NPK_GC_OK);
    CHECK(slots[0] == trap && slots[2] == trap && frame[1] == trap);
    CHECK(slots[1] != old_refs && frame[0] != old_frame0);
    CHECK(npk_gc_is_heap_pointer_i32(old_refs) == 0 && npk_gc_is_heap_pointer_i32(old_frame0) == 0);
    CHECK(npk_gc_is_heap_pointer_i32(unrooted) == 0);
    CHECK(npk_gc_set_int(unrooted, 0, 1) == NPK_GC_ERR_NOT_OBJECT);
    CHECK(npk_gc_is_heap_pointer_i32(slots[1]) == 1 && get_int(frame[0], 0) == 31337);
    void *moved_ints = NULL;
    CHECK(npk_gc_get_ref(slots[1], 1, &moved_ints) == NPK_GC_OK && moved_ints != ints);
    CHECK(get_int(moved_ints, 0) == (int64_t)(intptr_t)trap && get_int(moved_ints, 2) == -7);
    CHECK(npk_gc_pop_frame(slots) == NPK_GC_ERR_FRAME);

    /* a root slot inside a (writable) wildx page */
    void **wild_slot = npk_wildx_alloc(64);
    CHECK(wild_slot != NULL);
    *wild_slot = npk_gc_alloc_ints(1);
    void *before = *wild_slot;
    CHECK(npk_shadow_stack_add_root(wild_slot) == NPK_GC_OK);
    CHECK(npk_gc_collect() == NPK_GC_OK);
    CHECK(*wild_slot != before && npk_gc_is_heap_pointer_i32(*wild_slot) == 1);
    CHECK(npk_shadow_stack_remove_root(wild_slot) == NPK_GC_OK);
    CHECK(npk_wildx_free(wild_slot) == 0);

    /* JIT code holding a gc reference across the collecting helper */
    void *jit = jit_collect_and_reload();
    void *slot = npk_gc_alloc_ints(2);
    CHECK(npk_gc_set_int(slot, 1, 4242) == NPK_GC_OK);
    void *given = slot;
    CHECK(npk_shadow_stack_add_root(&slot) == NPK_GC_OK);
    int32_t st = -1;
    void *returned = (void *)(intptr_t)npk_jit_try_call_i64_i64(jit, (int64_t)(intptr_t)&slot, &st);
    CHECK(st == 0);
    CHECK(returned == slot && returned != given);
    CHECK(npk_gc_is_heap_pointer_i32(returned) == 1 && get_int(returned, 1) == 4242);
    CHECK(npk_shadow_stack_remove_root(&slot) == NPK_GC_OK);
    CHECK(npk_shadow_stack_remove_root(&slot) == NPK_GC_ERR_NOT_ROOTED);
    given = slot; /* now unrooted */
    returned = (void *)(intptr_t)npk_jit_try_call_i64_i64(jit, (int64_t)(intptr_t)&slot, &st);
    CHECK(st == 0 && returned == given);
    CHECK(npk_gc_is_heap_pointer_i32(returned) == 0);
    CHECK(npk_wildx_free(jit) == 0);

    /* threads: a second thread is refused while this one is the mutator */
    struct thread_report r = {.obj = frame[0]};
    pthread_t t;
    uint64_t majors = npk_gc_stat_major_collections();
    CHECK(pthread_create(&t, NULL, other_thread, &r) == 0 && pthread_join(t, NULL) == 0);
    CHECK(r.alloc == NULL && r.alloc_status == NPK_GC_ERR_WRONG_THREAD);
    CHECK(r.collect == NPK_GC_ERR_WRONG_THREAD && r.add_root == NPK_GC_ERR_WRONG_THREAD);
    CHECK(r.is_heap == 0 && r.set_int == NPK_GC_ERR_WRONG_THREAD);
    CHECK(r.detach == NPK_GC_ERR_WRONG_THREAD && r.push == NPK_GC_ERR_WRONG_THREAD);
    CHECK(r.minor >= 3);
    CHECK(get_int(frame[0], 0) == 31337);
    CHECK(npk_gc_safepoint() == NPK_GC_OK); /* runs the other thread's request */
    CHECK(npk_gc_stat_major_collections() == majors + 1);
    CHECK(npk_gc_detach_thread() == NPK_GC_ERR_FRAMES);
    CHECK(npk_gc_pop_frame(frame) == NPK_GC_OK);
    CHECK(npk_gc_detach_thread() == NPK_GC_OK);
    int32_t adopted = 0;
    CHECK(pthread_create(&t, NULL, adopting_thread, &adopted) == 0 && pthread_join(t, NULL) == 0);
    CHECK(adopted == 1);
    CHECK(npk_gc_is_heap_pointer_i32(slots[1]) == 1); /* this thread is the mutator again */

    /* many short-lived objects around a rooted list of 1000 nodes */
    void *list = NULL;
    CHECK(npk_shadow_stack_add_root(&list) == NPK_GC_OK);
    for (int64_t i = 0; i < 1000; i++) {
        void *n = npk_gc_alloc_refs(2);
        CHECK(npk_gc_set_ref(n, 0, list) == NPK_GC_OK);
        list = n;
        void *payload = npk_gc_alloc_ints(1); /* may move list */
        CHECK(npk_gc_set_int(payload, 0, i) == NPK_GC_OK);
        CHECK(npk_gc_set_ref(list, 1, payload) == NPK_GC_OK);
        for (int g = 0; g < 1000; g++) CHECK(npk_gc_alloc_ints(g % 5) != NULL);
    }
    void *n = list;
    for (int64_t i = 999; i >= 0; i--) {
        void *payload = NULL;
        CHECK(npk_gc_get_ref(n, 1, &payload) == NPK_GC_OK && get_int(payload, 0) == i);
        CHECK(npk_gc_get_ref(n, 0, &n) == NPK_GC_OK);
    }
    CHECK(n == NULL);
    CHECK(npk_shadow_stack_remove_root(&list) == NPK_GC_OK);
    for (int i = 0; i < 3; i++) CHECK(npk_shadow_stack_remove_root(&slots[i]) == NPK_GC_OK);
    CHECK(npk_gc_collect() == NPK_GC_OK);
    CHECK(npk_gc_stat_live_bytes() == 0 && npk_gc_stat_used_bytes() == 0);
    CHECK(npk_gc_stat_minor_collections() > 10 && npk_gc_stat_allocated_bytes() > 8000000);
    uint64_t peak = npk_gc_stat_peak_bytes();
    CHECK(peak > 0 && peak < (64u << 20));
    munmap(trap, 4096);
    printf("peak=%llu failures=%d\n", (unsigned long long)(peak > 0), failures);
    fprintf(stderr, "gc_smoke: peak %llu bytes, %llu minor / %llu major collections\n",
            (unsigned long long)peak, (unsigned long long)npk_gc_stat_minor_collections(),
            (unsigned long long)npk_gc_stat_major_collections());
    return failures == 0 ? 0 : 1;
}
