/* EPROCESS offsets found by structure: hand-built process lists with
 * layouts no profile has, hostile lists, and the generator's images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/eprocess_probe.h"
#include "kernel/module_identity.h"
#include "memsift/kernel.h"
#include "support/pagetable_builder.h"

#define MEM_SIZE (4u << 20)
#define KVA_X64 0xffffc00012340000ull
#define KVA_X86 0x81200000ull
#define KUSER_X64 0xfffff78000000000ull
#define KUSER_X86 0xffdf0000ull
#define EP_IN_PAGE 0x60      /* EPROCESS offset in its page */
#define NAME_INFO_IN_PAGE 0xd00
#define BOOT 0x01da9b9d90a8c000ull /* 2024-05-01 08:00 UTC */
#define SECOND 10000000ull
#define MAX_PROCS 10

/* The offsets a test plants; thread_list is ThreadListHead. */
typedef struct layout {
    unsigned ptr;
    int64_t pid, links, ppid, name, create, exit, threads, audit, thread_list;
} layout;

/* Windows 11 22000 with everything after Pcb moved by 0x10, and 19041 x86
 * moved by 8: no shipped profile has either. */
static const layout x64_moved = {8, 0x450, 0x458, 0x550, 0x5b8, 0x478, 0x850, 0x600, 0x5d0, 0x5f0};
static const layout x86_moved = {4, 0xec, 0xf0, 0x178, 0x1b4, 0x108, 0x390, 0x1e0, 0x1c8, 0x1d8};

typedef struct spec {
    const char *name;
    uint32_t pid, ppid, threads;
    int exited;
    const char *path;
} spec;

#define SYS32 "\\Device\\HarddiskVolume3\\Windows\\System32\\"
static const spec procs[] = {
    {"System", 4, 0, 152, 0, NULL},
    {"Registry", 0x6c, 4, 4, 0, NULL},
    {"smss.exe", 0x1c4, 4, 2, 0, SYS32 "smss.exe"},
    {"wininit.exe", 0x27c, 0x228, 3, 0, SYS32 "wininit.exe"},
    {"services.exe", 0x2f0, 0x27c, 8, 0, SYS32 "services.exe"},
    {"svchost.exe", 0x3a8, 0x2f0, 21, 0, SYS32 "svchost.exe"},
    {"MicrosoftEdgeUpdate.exe", 0x1a30, 0x2f0, 5, 0,
     "\\Device\\HarddiskVolume3\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe"},
    {"cmd.exe", 0x1f04, 0x1a30, 0, 1, SYS32 "cmd.exe"},
};
#define NPROCS (sizeof procs / sizeof procs[0])

typedef struct world {
    ptb b;
    layout l;
    uint64_t va0, pa0;
    uint64_t head;
    uint64_t ep[MAX_PROCS];
    size_t n;
    ms_image *image;
    ms_vspace *vs;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    *state = w;
    return w == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    world *w = *state;
    if (w->vs != NULL)
        ms_vspace_destroy(w->vs);
    ptb_free(&w->b);
    free(w);
    return 0;
}

static uint8_t *at(world *w, uint64_t va)
{
    return w->b.mem + w->pa0 + (va - w->va0);
}

static void put(world *w, uint64_t va, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        at(w, va)[i] = (uint8_t)(v >> (8 * i));
}

static void put_ptr(world *w, uint64_t va, uint64_t v)
{
    put(w, va, v, w->l.ptr);
}

static uint64_t links_of(const world *w, size_t i)
{
    return w->ep[i] + (uint64_t)w->l.links;
}

static void link_after(world *w, uint64_t prev, uint64_t entry)
{
    put_ptr(w, prev, entry);
    put_ptr(w, entry + w->l.ptr, prev);
}

/* A UNICODE_STRING (OBJECT_NAME_INFORMATION) at `va`, text right after it. */
static void put_unicode(world *w, uint64_t va, const char *s)
{
    uint64_t text = va + 2 * w->l.ptr;
    size_t n = strlen(s);
    put(w, va, n * 2, 2);
    put(w, va + 2, n * 2 + 2, 2);
    put_ptr(w, va + w->l.ptr, text);
    for (size_t i = 0; i < n; i++)
        put(w, text + 2 * i, (uint8_t)s[i], 2);
}

static void put_kuser(world *w, uint64_t system_time)
{
    uint64_t pa = ptb_alloc(&w->b);
    ptb_map(&w->b, w->l.ptr == 8 ? KUSER_X64 : KUSER_X86, pa);
    ptb_put32(&w->b, pa + 0x14, (uint32_t)system_time);
    ptb_put32(&w->b, pa + 0x18, (uint32_t)(system_time >> 32));
    ptb_put32(&w->b, pa + 0x1c, (uint32_t)(system_time >> 32));
    ptb_put32(&w->b, pa + 0x26c, 10);
    ptb_put32(&w->b, pa + 0x270, 0);
}

static void write_process(world *w, size_t i, const spec *s)
{
    const layout *l = &w->l;
    uint64_t ep = w->ep[i];
    put(w, ep, 3, 1); /* DISPATCHER_HEADER.Type: ProcessObject */
    put_ptr(w, ep + (uint64_t)l->pid, s->pid);
    put_ptr(w, ep + (uint64_t)l->ppid, s->ppid);
    memcpy(at(w, ep + (uint64_t)l->name), s->name, strlen(s->name) < 15 ? strlen(s->name) : 15);
    uint64_t created = i == 0 ? BOOT : BOOT + (10 + 40 * i) * SECOND;
    put(w, ep + (uint64_t)l->create, created, 8);
    if (s->exited)
        put(w, ep + (uint64_t)l->exit, created + 600 * SECOND, 8);
    put(w, ep + (uint64_t)l->threads, s->threads, 4);
    put_ptr(w, ep + (uint64_t)l->thread_list, ep + (uint64_t)l->thread_list);
    put_ptr(w, ep + (uint64_t)l->thread_list + l->ptr, ep + (uint64_t)l->thread_list);
    if (s->path != NULL) {
        uint64_t ni = (ep & ~0xfffull) + NAME_INFO_IN_PAGE;
        put_unicode(w, ni, s->path);
        put_ptr(w, ep + (uint64_t)l->audit, ni);
    }
}

/* Each process gets its own top-level table sharing the kernel half. */
static void write_dtbs(world *w)
{
    int64_t dtb_off = w->l.ptr == 8 ? 0x28 : 0x18;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t root = w->b.root;
        if (i > 0) {
            root = ptb_alloc(&w->b);
            memcpy(w->b.mem + root + 0x800, w->b.mem + w->b.root + 0x800, 0x800);
        }
        put_ptr(w, w->ep[i] + (uint64_t)dtb_off, root);
    }
}

/* Globals page (the list head) and one page per EPROCESS; not opened yet. */
static void build(world *w, ms_paging_mode mode, const layout *l, const spec *specs, size_t n)
{
    assert_true(n <= MAX_PROCS);
    assert_int_equal(ptb_init(&w->b, mode, MEM_SIZE), 0);
    w->l = *l;
    w->n = n;
    w->va0 = l->ptr == 8 ? KVA_X64 : KVA_X86;
    w->pa0 = ptb_alloc(&w->b);
    for (size_t i = 0; i < n; i++)
        ptb_alloc(&w->b); /* the allocator hands out consecutive pages */
    for (size_t i = 0; i <= n; i++)
        ptb_map(&w->b, w->va0 + i * 0x1000, w->pa0 + i * 0x1000);
    put_kuser(w, BOOT + 3600 * SECOND);
    w->head = w->va0 + 0x100;
    uint64_t prev = w->head;
    for (size_t i = 0; i < n; i++) {
        w->ep[i] = w->va0 + (i + 1) * 0x1000 + EP_IN_PAGE;
        write_process(w, i, &specs[i]);
        link_after(w, prev, links_of(w, i));
        prev = links_of(w, i);
    }
    link_after(w, prev, w->head);
    write_dtbs(w);
}

static void open_world(world *w)
{
    assert_int_equal(ptb_open(&w->b, &w->image), 0);
    assert_int_equal(ms_vspace_create(w->image, w->b.mode, w->b.root, &w->vs), MS_OK);
}

static ms_status run(world *w, uint64_t system, uint64_t head, ms_eprocess_layout *out, char *how, size_t size)
{
    memset(out, 0x5a, sizeof *out);
    how[0] = '\0';
    return ms_eprocess_probe(w->vs, w->l.ptr, system, head, out, how, size);
}

static void expect_layout(const ms_eprocess_layout *got, const layout *l, int with_exit)
{
    assert_int_equal(got->links, l->links);
    assert_int_equal(got->pid, l->pid);
    assert_int_equal(got->name, l->name);
    assert_int_equal(got->ppid, l->ppid);
    assert_int_equal(got->create_time, l->create);
    assert_int_equal(got->exit_time, with_exit ? l->exit : -1);
    assert_int_equal(got->threads, l->threads);
    assert_int_equal(got->dtb, l->ptr == 8 ? 0x28 : 0x18);
    assert_int_equal(got->audit_name, l->audit);
    assert_int_equal(got->peb, -1);
}

/* From System and the head, from System alone, from the head alone. */
static void expect_all_routes(world *w, int with_exit, const char *agree)
{
    ms_eprocess_layout got;
    char how[512];
    const uint64_t routes[3][2] = {{w->ep[0], w->head}, {w->ep[0], 0}, {0, w->head}};
    for (size_t r = 0; r < 3; r++) {
        ms_status st = run(w, routes[r][0], routes[r][1], &got, how, sizeof how);
        if (st != MS_OK)
            fail_msg("route %zu: %s", r, ms_last_error());
        expect_layout(&got, &w->l, with_exit);
        assert_non_null(strstr(how, agree));
    }
}

static void test_x64_moved_layout(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    open_world(w);
    expect_all_routes(w, 1, "structure probe: 8 processes agree");
}

static void test_x86_moved_layout(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X86, &x86_moved, procs, NPROCS);
    open_world(w);
    expect_all_routes(w, 1, "structure probe: 8 processes agree");
}

/* No exited process: ExitTime cannot be told from any zero field. */
static void test_no_exited_process_leaves_exit_time(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS - 1);
    open_world(w);
    expect_all_routes(w, 0, "7 processes agree");
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_OK);
    assert_non_null(strstr(how, "not validated: ExitTime"));
}

/* The fourth process's Flink leads back to the second: the walk stops at
 * the broken back link with four processes read. */
static void test_list_that_loops(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    put_ptr(w, links_of(w, 3), links_of(w, 1));
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_OK);
    assert_non_null(strstr(how, "4 processes agree"));
    assert_int_equal(got.links, x64_moved.links);
    assert_int_equal(got.name, x64_moved.name);
    assert_int_equal(got.exit_time, -1); /* cmd.exe was not reached */
}

/* A ring of processes, consistent both ways, that no longer holds the head. */
static void test_ring_without_head(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    link_after(w, links_of(w, NPROCS - 1), links_of(w, 0));
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_OK);
    expect_layout(&got, &x64_moved, 1);
    assert_non_null(strstr(how, "8 processes agree"));
}

static void test_eprocess_in_unmapped_page(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    ptb_set(&w->b, w->ep[4] & ~0xfffull, 1, 0);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_OK);
    assert_non_null(strstr(how, "4 processes agree"));
    assert_int_equal(got.pid, x64_moved.pid);
    assert_int_equal(got.ppid, x64_moved.ppid);
}

static void test_first_neighbour_unmapped_fails(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    ptb_set(&w->b, w->ep[1] & ~0xfffull, 1, 0);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_ERR_NOT_FOUND);
    assert_non_null(strstr(ms_last_error(), "at least 2 other processes"));
    assert_int_equal(got.links, 0x5a5a5a5a5a5a5a5a); /* left alone */
}

static void test_system_unmapped_fails(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X86, &x86_moved, procs, NPROCS);
    ptb_set(&w->b, w->ep[0] & ~0xfffull, 1, 0);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_not_equal(run(w, w->ep[0], 0, &got, how, sizeof how), MS_OK);
    assert_int_not_equal(run(w, 0, w->head, &got, how, sizeof how), MS_OK);
    assert_true(strlen(ms_last_error()) > 0);
}

static void test_garbage_names(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    for (size_t i = 1; i < NPROCS; i++)
        memcpy(at(w, w->ep[i] + (uint64_t)x64_moved.name), "\x01\xfe\x80garbage\x7f\x02", 12);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_ERR_NOT_FOUND);
    assert_non_null(strstr(ms_last_error(), "ImageFileName"));
}

/* One bad name among eight does not outvote the others. */
static void test_one_garbage_name(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X86, &x86_moved, procs, NPROCS);
    memcpy(at(w, w->ep[5] + (uint64_t)x86_moved.name), "\x01\xfe\x80", 3);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_OK);
    assert_int_equal(got.name, x86_moved.name);
    assert_int_equal(got.pid, x86_moved.pid);
}

static void test_only_system(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, 1);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_ERR_NOT_FOUND);
    assert_int_equal(run(w, 0, w->head, &got, how, sizeof how), MS_ERR_NOT_FOUND);
    assert_int_equal(run(w, w->ep[0], 0, &got, how, sizeof how), MS_ERR_NOT_FOUND);
}

/* A System pointer that is another process: the head still leads to System. */
static void test_wrong_system_pointer(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X86, &x86_moved, procs, NPROCS);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[2], w->head, &got, how, sizeof how), MS_OK);
    expect_layout(&got, &x86_moved, 1);
    assert_int_equal(run(w, w->ep[0] + 8, w->head, &got, how, sizeof how), MS_OK);
    expect_layout(&got, &x86_moved, 1);
    assert_int_equal(run(w, w->ep[2], 0, &got, how, sizeof how), MS_ERR_NOT_FOUND);
}

/* Random bytes everywhere (page tables aside): no crash, no answer. */
static void test_random_memory(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    srand(7);
    for (size_t i = 0; i < (NPROCS + 1) * 0x1000; i++)
        w->b.mem[w->pa0 + i] = (uint8_t)rand();
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_not_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_OK);
    assert_int_not_equal(run(w, 0, w->head, &got, how, sizeof how), MS_OK);
    assert_int_not_equal(run(w, w->ep[3], 0, &got, how, sizeof how), MS_OK);
}

/* A second list through every EPROCESS (as MmProcessLinks is), in the other
 * order: from System alone, the pid before the links picks the right one. */
static void test_second_process_list(void **state)
{
    world *w = *state;
    const uint64_t other = 0x700, head2 = KVA_X64 + 0x200;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    uint64_t prev = head2;
    for (size_t i = NPROCS; i-- > 0;) {
        link_after(w, prev, w->ep[i] + other);
        prev = w->ep[i] + other;
    }
    link_after(w, prev, head2);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], 0, &got, how, sizeof how), MS_OK);
    expect_layout(&got, &x64_moved, 1);
}

/* Just before the parent ids, small handle values (as Win32WindowStation
 * holds): 0 in System, one of them 4.  They are not listed pids. */
static void test_handle_field_before_ppid(void **state)
{
    world *w = *state;
    static const uint64_t handles[NPROCS] = {0, 0x4, 0x8, 0x2c, 0x30, 0x4c, 0x5c, 0x60};
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    for (size_t i = 0; i < NPROCS; i++)
        put_ptr(w, w->ep[i] + (uint64_t)x64_moved.ppid - 8, handles[i]);
    open_world(w);
    ms_eprocess_layout got;
    char how[512];
    assert_int_equal(run(w, w->ep[0], w->head, &got, how, sizeof how), MS_OK);
    expect_layout(&got, &x64_moved, 1);
}

static void test_bad_arguments(void **state)
{
    world *w = *state;
    build(w, MS_PAGING_X64, &x64_moved, procs, NPROCS);
    open_world(w);
    ms_eprocess_layout got;
    char how[8];
    assert_int_equal(ms_eprocess_probe(NULL, 8, w->ep[0], 0, &got, how, sizeof how), MS_ERR_ARG);
    assert_int_equal(ms_eprocess_probe(w->vs, 8, 0, 0, &got, how, sizeof how), MS_ERR_ARG);
    assert_int_equal(ms_eprocess_probe(w->vs, 4, w->ep[0], 0, &got, how, sizeof how), MS_ERR_ARG);
    assert_int_equal(ms_eprocess_probe(w->vs, 8, 0x7ff600001000ull, 0, &got, how, sizeof how), MS_ERR_ARG);
    assert_int_equal(ms_eprocess_probe(w->vs, 8, w->ep[0], 0, NULL, how, sizeof how), MS_ERR_ARG);
    /* a short `how` is cut, not overrun; none at all is fine */
    assert_int_equal(ms_eprocess_probe(w->vs, 8, w->ep[0], w->head, &got, how, sizeof how), MS_OK);
    assert_int_equal(strlen(how), sizeof how - 1);
    assert_int_equal(ms_eprocess_probe(w->vs, 8, w->ep[0], w->head, &got, NULL, 0), MS_OK);
}

/* ---- the generator's images ---- */

static const char *generator(void)
{
    static char path[1024];
    const char *env = getenv("MEMSIFT_IMAGEGEN");
    const char *tmp = getenv("MEMSIFT_TEST_TMP");
    if (env != NULL && env[0] != '\0')
        snprintf(path, sizeof path, "%s", env);
    else if (tmp != NULL && tmp[0] != '\0') /* ctest runs us in BUILD/tests */
        snprintf(path, sizeof path, "%s/../tools/imagegen/ms-imagegen", tmp);
    else
        return NULL;
    return access(path, X_OK) == 0 ? path : NULL;
}

static void temp_path(char *buf, size_t size, const char *name)
{
    const char *tmp = getenv("MEMSIFT_TEST_TMP");
    snprintf(buf, size, "%s/eprobe-%ld-%s", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", (long)getpid(), name);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *text = malloc(1 << 20);
    if (text != NULL)
        text[fread(text, 1, (1 << 20) - 1, f)] = '\0';
    fclose(f);
    return text;
}

typedef struct generated {
    char path[1024];
    ms_image *image;
    ms_kernel *kernel;
    char *truth;
} generated;

static void generated_close(generated *g)
{
    char truth[1100];
    if (g->kernel != NULL)
        ms_kernel_close(g->kernel);
    if (g->image != NULL)
        ms_image_close(g->image);
    free(g->truth);
    if (g->path[0] != '\0') {
        snprintf(truth, sizeof truth, "%s.truth.json", g->path);
        unlink(g->path);
        unlink(truth);
    }
    memset(g, 0, sizeof *g);
}

/* The generator tests' state, so that a failed assertion leaves no files. */
typedef struct gen_state {
    generated g;
    char dir[600];
} gen_state;

static int gen_setup(void **state)
{
    gen_state *s = calloc(1, sizeof *s);
    *state = s;
    return s == NULL ? -1 : 0;
}

static int gen_teardown(void **state)
{
    gen_state *s = *state;
    generated_close(&s->g);
    if (s->dir[0] != '\0') {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", s->dir);
    }
    free(s);
    return 0;
}

static void generate(generated *g, const char *gen, const char *profile, const char *profiles_dir)
{
    char cmd[4096], truth[1100];
    temp_path(g->path, sizeof g->path, profile);
    snprintf(cmd, sizeof cmd, "'%s' --profile %s --out '%s' --size 32M --seed 5 %s%s%s >/dev/null", gen, profile,
             g->path, profiles_dir ? "--profiles '" : "", profiles_dir ? profiles_dir : "", profiles_dir ? "'" : "");
    if (system(cmd) != 0)
        fail_msg("the generator failed: %s", cmd);
    snprintf(truth, sizeof truth, "%s.truth.json", g->path);
    g->truth = read_text(truth);
    assert_non_null(g->truth);
    if (ms_image_open(g->path, NULL, &g->image) != MS_OK || ms_kernel_open(g->image, NULL, &g->kernel) != MS_OK)
        fail_msg("%s: %s", profile, ms_last_error());
}

/* The number after the first `"key": ` following `after` in the truth
 * (its 64-bit values are beyond what a JSON library's integers hold). */
static uint64_t truth_u64(const char *truth, const char *after, const char *key)
{
    char pattern[64];
    const char *from = after ? strstr(truth, after) : truth;
    assert_non_null(from);
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = strstr(from, pattern);
    assert_non_null(at);
    return strtoull(at + strlen(pattern), NULL, 10);
}

/* What discover.c hands the probe: the PsInitialSystemProcess export. */
static uint64_t initial_system_process(generated *g)
{
    const ms_kernel_info *ki = ms_kernel_get_info(g->kernel);
    ms_vspace_pe_reader r = {ms_kernel_vspace(g->kernel), ki->kernel_base};
    ms_pe pe;
    uint32_t rva;
    uint64_t system;
    assert_int_equal(ms_pe_parse(ms_vspace_pe_read, &r, &pe), MS_OK);
    assert_int_equal(ms_pe_export_find(&pe, "PsInitialSystemProcess", &rva), MS_OK);
    assert_int_equal(ms_vspace_read_ptr(r.vs, ki->kernel_base + rva, &system), MS_OK);
    return system;
}

static void probe_generated(generated *g, const char *label, const layout *want)
{
    const ms_kernel_info *ki = ms_kernel_get_info(g->kernel);
    uint64_t system = initial_system_process(g);
    uint64_t head = ki->ps_active_process_head;
    assert_int_equal(system, truth_u64(g->truth, "\"processes\"", "offset"));
    assert_int_equal(head, truth_u64(g->truth, NULL, "ps_active_process_head"));
    const uint64_t routes[3][2] = {{system, head}, {system, 0}, {0, head}};
    for (size_t r = 0; r < 3; r++) {
        ms_eprocess_layout got;
        char how[512];
        if (ms_eprocess_probe(ms_kernel_vspace(g->kernel), ki->pointer_size, routes[r][0], routes[r][1], &got, how,
                              sizeof how) != MS_OK)
            fail_msg("%s route %zu: %s", label, r, ms_last_error());
        if (got.links != want->links || got.pid != want->pid || got.name != want->name || got.ppid != want->ppid ||
            got.create_time != want->create || got.exit_time != want->exit || got.threads != want->threads ||
            got.audit_name != want->audit || got.dtb != (want->ptr == 8 ? 0x28 : 0x18))
            fail_msg("%s route %zu: %s", label, r, how);
    }
}

static int64_t field(const ms_profile *p, const char *name)
{
    uint32_t off;
    assert_int_equal(ms_profile_field(p, "_EPROCESS", name, &off), MS_OK);
    return off;
}

static void layout_of(const ms_profile *p, layout *l)
{
    l->ptr = ms_profile_pointer_size(p);
    l->pid = field(p, "UniqueProcessId");
    l->links = field(p, "ActiveProcessLinks");
    l->ppid = field(p, "InheritedFromUniqueProcessId");
    l->name = field(p, "ImageFileName");
    l->create = field(p, "CreateTime");
    l->exit = field(p, "ExitTime");
    l->threads = field(p, "ActiveThreads");
    l->audit = field(p, "SeAuditProcessCreationInfo");
}

static const ms_profile *profile_named(ms_profile_db *db, const char *name)
{
    for (size_t i = 0; i < ms_profile_db_count(db); i++)
        if (strcmp(ms_profile_name(ms_profile_db_at(db, i)), name) == 0)
            return ms_profile_db_at(db, i);
    fail_msg("no built-in profile %s", name);
    return NULL;
}

static void test_generator_profiles(void **state)
{
    gen_state *s = *state;
    const char *gen = generator();
    if (gen == NULL) {
        print_message("SKIP: the image generator (ms-imagegen) was not built\n");
        skip();
    }
    static const char *const targets[] = {"win10-19041-x64", "win11-22000-x64",  "win81-9600-x64", "win7-7601-x64",
                                          "win7-7601-x86pae", "xpsp2-x86",       "xpsp3-x86pae",   "2003sp2-x64"};
    ms_profile_db *db;
    assert_int_equal(ms_profile_db_create(&db), MS_OK);
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        generated *g = &s->g;
        generate(g, gen, targets[i], NULL);
        layout want;
        char name[64] = "";
        const char *kp = strstr(g->truth, "\"kernel_profile\": \"");
        assert_non_null(kp);
        sscanf(kp + strlen("\"kernel_profile\": \""), "%63[^\"]", name);
        layout_of(profile_named(db, name), &want);
        probe_generated(g, targets[i], &want);
        generated_close(g);
    }
    ms_profile_db_destroy(db);
}

/* The source tree's profiles/ directory, from this file's path. */
static int source_profiles(char *buf, size_t size)
{
    const char *file = __FILE__, *tail = strstr(file, "tests/unit/test_eprocess_probe.c");
    if (file[0] != '/' || tail == NULL || (size_t)(tail - file) + 16 > size)
        return 0;
    snprintf(buf, size, "%.*sprofiles", (int)(tail - file), file);
    return access(buf, R_OK) == 0;
}

/* A Windows 11 image whose EPROCESS moved past the ActiveProcessLinks:
 * fields after it shifted by 0x18 in a copy of the 22000 profile. */
static void test_generator_moved_layout(void **state)
{
    gen_state *s = *state;
    const char *gen = generator();
    char src[512], path[700], line[2048];
    char *dir = s->dir;
    if (gen == NULL || !source_profiles(src, sizeof src)) {
        print_message("SKIP: the image generator or the source profiles are not available\n");
        skip();
    }
    temp_path(dir, sizeof s->dir, "profiles");
    snprintf(path, sizeof path, "%s/kernel", dir);
    snprintf(line, sizeof line, "mkdir -p '%s'", path);
    assert_int_equal(system(line), 0);
    snprintf(path, sizeof path, "%s/tcpip", dir);
    snprintf(line, sizeof line, "%s/tcpip", src);
    assert_int_equal(symlink(line, path), 0);
    snprintf(line, sizeof line, "%s/kernel/win11-22000-x64.prof", src);
    FILE *in = fopen(line, "r");
    snprintf(path, sizeof path, "%s/kernel/win11-22000-x64.prof", dir);
    FILE *out = fopen(path, "w");
    assert_non_null(in);
    assert_non_null(out);
    while (fgets(line, sizeof line, in) != NULL) {
        char type[64], name[128];
        unsigned off, size;
        if (sscanf(line, "struct _EPROCESS %x", &size) == 1)
            fprintf(out, "struct _EPROCESS 0x%x\n", size + 0x18);
        else if (sscanf(line, "field %63s %127s %x %x", type, name, &off, &size) == 4 &&
                 strcmp(type, "_EPROCESS") == 0 && off > 0x448)
            fprintf(out, "field _EPROCESS %s 0x%x 0x%x\n", name, off + 0x18, size);
        else
            fputs(line, out);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);

    generate(&s->g, gen, "win11-22000-x64", dir);
    const layout want = {8, 0x440, 0x448, 0x558, 0x5c0, 0x480, 0x858, 0x608, 0x5d8, 0};
    probe_generated(&s->g, "win11-22000-x64 moved", &want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_x64_moved_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x86_moved_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_exited_process_leaves_exit_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_that_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_without_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eprocess_in_unmapped_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_neighbour_unmapped_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_unmapped_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_garbage_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_system, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_system_pointer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_process_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handle_field_before_ppid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generator_profiles, gen_setup, gen_teardown),
        cmocka_unit_test_setup_teardown(test_generator_moved_layout, gen_setup, gen_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
