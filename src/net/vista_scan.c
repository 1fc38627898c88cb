/* Vista+: one pass over physical memory for the endpoint pool tags (TcpE,
 * TTcb, TcTW, TcSR, TcpL, UdpA).  The pass only collects headers that pass
 * the pool rules and a cheap look at the block; decoding (which follows
 * pointers, reading the image) runs after it. */
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "vista_net.h"

#define MAX_HITS (1u << 20)
#define MAX_OBJECT_BYTES 0x1000u
#define MAX_BLOCK 0x1000u

typedef struct scan_hit {
    uint64_t paddr;              /* the object, after the header */
    uint8_t kind;
    char tag[5];
} scan_hit;

typedef struct scan_state {
    ms_vista_ctx *ctx;
    ms_vista_kind kind_of[MS_TAGSCAN_MAX_TAGS];
    char tag_of[MS_TAGSCAN_MAX_TAGS][5];
    scan_hit *hits;
    size_t nhits, cap, skipped;
    ms_status status;
} scan_state;

static uint64_t buf_ptr(unsigned ptr, const uint8_t *b)
{
    if (ptr == 8) {
        uint64_t v;
        memcpy(&v, b, 8);
        return v;
    }
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

/* What can be checked without reading anything else. */
static int quick_check(const ms_vista_layout *L, ms_vista_kind kind, const uint8_t *obj)
{
    const ms_vista_obj *o = &L->obj[kind];
    if (!ms_vista_kernel_ptr(L->ptr, buf_ptr(L->ptr, obj + o->af)))
        return 0;
    if (kind == MS_VK_TCB) {
        uint32_t state;
        memcpy(&state, obj + o->state, 4);
        if (ms_vista_state_name(state) == NULL)
            return 0;
    }
    if (o->owner >= 0) {
        uint64_t owner = buf_ptr(L->ptr, obj + o->owner);
        if (owner != 0 && !ms_vista_kernel_ptr(L->ptr, owner))
            return 0;
    }
    return 1;
}

static int on_hit(const ms_pool_hit *hit, void *user)
{
    scan_state *s = user;
    const ms_vista_layout *L = &s->ctx->L;
    ms_vista_kind kind = s->kind_of[hit->tag_index];
    if (hit->block_len < L->hdr + L->obj[kind].size || !quick_check(L, kind, hit->block + L->hdr))
        return 0;
    if (s->nhits == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        if (cap > MAX_HITS) {
            s->skipped++;
            return 0;
        }
        scan_hit *h = realloc(s->hits, cap * sizeof *h);
        if (h == NULL) {
            s->status = ms_fail(MS_ERR_NOMEM, "out of memory for %zu pool hits", cap);
            return 1;
        }
        s->hits = h;
        s->cap = cap;
    }
    scan_hit *h = &s->hits[s->nhits++];
    h->paddr = hit->paddr + L->hdr;
    h->kind = (uint8_t)kind;
    memcpy(h->tag, s->tag_of[hit->tag_index], 5);
    return 0;
}

static ms_status add_tags(ms_tagscan *ts, scan_state *s, uint32_t build)
{
    const ms_vista_layout *L = &s->ctx->L;
    for (int k = 0; k < MS_VK_COUNT; k++) {
        const ms_vista_obj *o = &L->obj[k];
        if (!o->present)
            continue;
        for (int i = 0; i < 2; i++) {
            if (o->tags[i][0] == '\0')
                continue;
            ms_pool_rule rule;
            ms_pool_rule_init(&rule);
            rule.min_block = L->hdr + o->size;
            rule.max_block = MAX_BLOCK;
            rule.object_size = o->size;
            /* Classic pool pages until the segment heap (1903) */
            rule.checks = MS_POOL_CHECK_WHOLE | (build < 18362 ? MS_POOL_CHECK_PAGE : 0);
            ms_pool_rule_set_types(&rule, MS_POOLTYPE_ODD_PAGED, MS_POOL_CLASS_NONPAGED | MS_POOL_CLASS_FREE);
            size_t index;
            ms_status st = ms_tagscan_add_tag(ts, o->tags[i], &rule, &index);
            if (st != MS_OK)
                return st;
            if (index < MS_TAGSCAN_MAX_TAGS) {
                s->kind_of[index] = (ms_vista_kind)k;
                memcpy(s->tag_of[index], o->tags[i], 5);
            }
        }
    }
    return MS_OK;
}

/* ---- kernel virtual addresses of scanned objects ---- */

typedef struct va_map {
    ms_net_endpoint *rows;
    size_t n, left;
} va_map;

static int map_run(const ms_mapping *m, void *user)
{
    va_map *v = user;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->rows[mid].offset_phys < m->paddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < v->n && v->rows[i].offset_phys < m->paddr + m->length; i++) {
        if (v->rows[i].offset == 0) {
            v->rows[i].offset = m->vaddr + (v->rows[i].offset_phys - m->paddr);
            v->left--;
        }
    }
    return v->left == 0;
}

/* One walk of the kernel half's page tables gives each object its VA (the
 * first mapping of its page, in ascending VA order). */
static void find_vas(ms_vista_ctx *ctx, ms_net_endpoint *rows, size_t n)
{
    va_map v = {rows, n, n};
    if (n == 0)
        return;
    uint64_t start = ctx->L.ptr == 8 ? 0xffff800000000000ull : 0x80000000ull;
    uint64_t end = ctx->L.ptr == 8 ? 0xffffffffffffffffull : 0x100000000ull;
    if (ms_vspace_walk(ctx->vs, start, end, map_run, &v) != MS_OK)
        ms_kernel_log(ctx->kernel, MS_KLOG_DEBUG, "kernel page-table walk for scan offsets: %s", ms_last_error());
}

static ms_status decode_hits(ms_vista_ctx *ctx, scan_state *s, ms_net_endpoint **out, size_t *nout)
{
    ms_image *image = ms_vspace_image(ctx->vs);
    ms_net_endpoint *rows = calloc(s->nhits ? s->nhits : 1, sizeof *rows);
    if (rows == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for %zu scan rows", s->nhits);
    /* Hits arrive in physical order; kind and tag ride in the row until decoding. */
    for (size_t i = 0; i < s->nhits; i++) {
        rows[i].offset_phys = s->hits[i].paddr;
        rows[i].kind = (ms_net_kind)s->hits[i].kind;
        memcpy(rows[i].tag, s->hits[i].tag, 5);
    }
    find_vas(ctx, rows, s->nhits);
    size_t n = 0, rejected = 0;
    uint8_t buf[MAX_OBJECT_BYTES];
    for (size_t i = 0; i < s->nhits; i++) {
        ms_vista_kind kind = (ms_vista_kind)rows[i].kind;
        uint64_t va = rows[i].offset, pa = rows[i].offset_phys;
        char tag[5];
        memcpy(tag, rows[i].tag, 5);
        const ms_vista_obj *o = &ctx->L.obj[kind];
        /* Through the VA when known: a block may cross into a page that is not physically next. */
        ms_status st = o->size > sizeof buf ? MS_ERR_LIMIT
                       : va != 0            ? ms_vspace_read(ctx->vs, va, buf, o->size)
                                            : ms_image_read(image, pa, buf, o->size);
        if (st != MS_OK && va != 0)
            st = ms_image_read(image, pa, buf, o->size);
        if (st != MS_OK || ms_vista_decode(ctx, kind, buf, o->size, &rows[n]) != MS_OK) {
            rejected++;
            continue;
        }
        rows[n].offset = va;
        rows[n].offset_phys = pa;
        memcpy(rows[n].tag, tag, 5);
        rows[n].sources = MS_NET_FROM_SCAN;
        n++;
    }
    if (rejected > 0)
        ms_kernel_log(ctx->kernel, MS_KLOG_DEBUG, "netscan: %zu tagged blocks failed the object checks", rejected);
    *out = rows;
    *nout = n;
    return MS_OK;
}

ms_status ms_net_scan(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user)
{
    if (kernel == NULL || fn == NULL)
        return ms_fail(MS_ERR_ARG, "ms_net_scan needs a kernel and a callback");
    ms_vista_ctx ctx;
    ms_status st = ms_vista_ctx_open(kernel, &ctx);
    if (st != MS_OK)
        return st;
    ms_tagscan_options to;
    ms_tagscan_options_init(&to);
    to.layout = ctx.L.pool;
    to.threads = opts ? opts->threads : 0;
    ms_tagscan *ts = NULL;
    scan_state s;
    memset(&s, 0, sizeof s);
    s.ctx = &ctx;
    s.status = MS_OK;
    st = ms_tagscan_create(&to, &ts);
    if (st == MS_OK)
        st = add_tags(ts, &s, ctx.info->build);
    if (st == MS_OK)
        st = ms_tagscan_run(ts, ms_vspace_image(ctx.vs), on_hit, &s, opts ? opts->progress : NULL,
                            opts ? opts->progress_user : NULL);
    if (st == MS_OK)
        st = s.status;
    ms_tagscan_destroy(ts);
    if (s.skipped > 0)
        ms_kernel_log(kernel, MS_KLOG_WARNING, "netscan: more than %u candidate blocks; %zu not examined", MAX_HITS,
                      s.skipped);
    ms_net_endpoint *rows = NULL;
    size_t n = 0;
    if (st == MS_OK)
        st = decode_hits(&ctx, &s, &rows, &n);
    free(s.hits);
    for (size_t i = 0; i < n && st == MS_OK; i++)
        if (fn(&rows[i], user))
            break;
    free(rows);
    ms_vista_ctx_close(&ctx);
    return st;
}
