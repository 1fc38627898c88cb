/* XP / 2003: connections, sockets, connscan and sockscan. */
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "xp_net.h"

typedef int (*row_fn)(ms_net_endpoint *row, void *user);

static const char *const kind_tags[2] = {"TCPT", "TCPA"};

/* Follow every bucket's Next chain, with a loop guard and caps. */
static ms_status walk_table(ms_xp_ctx *ctx, ms_xp_table_kind kind, row_fn fn, void *user)
{
    ms_xp_table t;
    ms_status st = ms_xp_find_table(ctx, kind, &t);
    if (st != MS_OK)
        return st;
    const ms_xp_layout *l = &ctx->layouts[t.layout];
    uint32_t size = kind == MS_XP_TCB ? l->t_size : l->a_size;
    uint32_t next_off = kind == MS_XP_TCB ? l->t_next : l->a_next;
    uint8_t obj[0x1000];
    if (size > sizeof obj)
        return ms_fail(MS_ERR_FORMAT, "tcpip profile %s: object of 0x%x bytes", ms_profile_name(l->profile), size);
    ms_visit_set seen;
    if ((st = ms_visit_set_init(&seen, MS_XP_MAX_OBJECTS)) != MS_OK)
        return st;
    size_t broken = 0;
    int stop = 0;
    for (uint32_t i = 0; i < t.count && !stop; i++) {
        uint64_t p = 0;
        if (ms_vspace_read_ptr(ctx->vs, t.array + (uint64_t)i * l->ptr, &p) != MS_OK) {
            broken++;
            continue;
        }
        for (uint32_t steps = 0; p != 0 && !stop; steps++) {
            if (steps >= MS_XP_MAX_CHAIN || !ms_xp_kernel_pointer(l->ptr, p)) {
                broken++;
                break;
            }
            int added = ms_visit_set_add(&seen, p);
            if (added == 0)
                break;
            if (added < 0) {
                ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "more than %u objects in the table; the rest skipped",
                              MS_XP_MAX_OBJECTS);
                stop = 1;
                break;
            }
            uint32_t tag = ms_xp_object_tag(ctx->vs, l, p);
            if ((tag != 0 && (tag & 0x7FFFFFFFu) != ms_pool_tag_value(kind_tags[kind])) ||
                ms_vspace_read(ctx->vs, p, obj, size) != MS_OK) {
                broken++;
                break;
            }
            ms_net_endpoint row;
            if (kind == MS_XP_TCB)
                ms_xp_decode_connection(l, obj, &row);
            else
                ms_xp_decode_socket(l, obj, ctx->now, &row);
            row.offset = p;
            ms_translation tr;
            if (ms_vspace_translate(ctx->vs, p, &tr) == MS_OK)
                row.offset_phys = tr.paddr;
            row.sources = MS_NET_FROM_WALK;
            ms_xp_finish_row(ctx, tag != 0 ? kind_tags[kind] : "\0\0\0\0", &row);
            if (fn(&row, user))
                stop = 1;
            uint64_t next = 0;
            memcpy(&next, obj + next_off, l->ptr);
            p = next;
        }
    }
    ms_visit_set_free(&seen);
    if (broken > 0)
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING,
                      "%zu chains of the %s table ended early (unreadable object, foreign pool tag, bad pointer "
                      "or chain cap)",
                      broken, kind == MS_XP_TCB ? "TCB" : "address-object");
    return MS_OK;
}

typedef struct forward {
    ms_net_fn fn;
    void *user;
} forward;

static int forward_row(ms_net_endpoint *row, void *user)
{
    forward *f = user;
    return f->fn(row, f->user);
}

ms_status ms_net_xp_connections(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user)
{
    (void)opts;
    ms_xp_ctx ctx;
    ms_status st = ms_xp_ctx_open(kernel, &ctx);
    if (st == MS_OK) {
        forward f = {fn, user};
        st = walk_table(&ctx, MS_XP_TCB, forward_row, &f);
    }
    ms_xp_ctx_close(&ctx);
    return st;
}

static int keep_conn(ms_net_endpoint *row, void *user)
{
    return ms_xp_conns_add(user, row) != MS_OK;
}

typedef struct sockets_state {
    ms_xp_conns *conns;
    ms_net_fn fn;
    void *user;
} sockets_state;

static int emit_socket(ms_net_endpoint *row, void *user)
{
    sockets_state *s = user;
    ms_xp_role(s->conns, row);
    return s->fn(row, s->user);
}

ms_status ms_net_xp_sockets(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user)
{
    (void)opts;
    ms_xp_ctx ctx;
    ms_xp_conns conns = {0};
    ms_status st = ms_xp_ctx_open(kernel, &ctx);
    if (st == MS_OK && walk_table(&ctx, MS_XP_TCB, keep_conn, &conns) != MS_OK)
        ms_kernel_log(kernel, MS_KLOG_WARNING, "roles use no connections: %s", ms_last_error());
    if (st == MS_OK) {
        sockets_state s = {&conns, fn, user};
        st = walk_table(&ctx, MS_XP_ADDROBJ, emit_socket, &s);
    }
    ms_xp_conns_free(&conns);
    ms_xp_ctx_close(&ctx);
    return st;
}

ms_status ms_net_xp_connscan(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user)
{
    ms_xp_ctx ctx;
    ms_status st = ms_xp_ctx_open(kernel, &ctx);
    if (st == MS_OK) {
        forward f = {fn, user};
        st = ms_xp_scan(&ctx, opts, 1, 0, forward_row, &f);
    }
    ms_xp_ctx_close(&ctx);
    return st;
}

/* sockscan keeps the sockets' physical offsets during the scan and decodes
 * them after it, once every connection (for the roles) is known. */
#define MS_XP_MAX_SCANNED_SOCKETS (1u << 21)

typedef struct sockscan_state {
    ms_xp_conns conns;
    uint64_t *socks;
    size_t nsocks, cap, dropped;
    ms_status st;
} sockscan_state;

static int collect(ms_net_endpoint *row, void *user)
{
    sockscan_state *s = user;
    if (row->kind == MS_NET_XP_CONNECTION) {
        s->st = ms_xp_conns_add(&s->conns, row);
        return s->st != MS_OK;
    }
    if (s->nsocks == s->cap) {
        if (s->cap >= MS_XP_MAX_SCANNED_SOCKETS) {
            s->dropped++;
            return 0;
        }
        size_t cap = s->cap ? s->cap * 2 : 256;
        uint64_t *n = realloc(s->socks, cap * sizeof *n);
        if (n == NULL) {
            s->st = ms_fail(MS_ERR_NOMEM, "out of memory for %zu sockets", cap);
            return 1;
        }
        s->socks = n;
        s->cap = cap;
    }
    s->socks[s->nsocks++] = row->offset_phys;
    return 0;
}

ms_status ms_net_xp_sockscan(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user)
{
    ms_xp_ctx ctx;
    sockscan_state s;
    memset(&s, 0, sizeof s);
    ms_status st = ms_xp_ctx_open(kernel, &ctx);
    if (st == MS_OK)
        st = ms_xp_scan(&ctx, opts, 1, 1, collect, &s);
    if (st == MS_OK)
        st = s.st;
    if (st == MS_OK && (s.dropped || s.conns.dropped))
        ms_kernel_log(kernel, MS_KLOG_WARNING, "more than %u sockets or %u connections; the rest skipped",
                      MS_XP_MAX_SCANNED_SOCKETS, MS_XP_MAX_ROLE_CONNS);
    const ms_xp_layout *l = &ctx.layouts[0];
    uint8_t obj[0x1000];
    ms_image *image = ms_vspace_image(ctx.vs);
    for (size_t i = 0; st == MS_OK && i < s.nsocks; i++) {
        if (l->a_size > sizeof obj || ms_image_read(image, s.socks[i], obj, l->a_size) != MS_OK)
            continue;
        ms_net_endpoint row;
        ms_xp_decode_socket(l, obj, ctx.now, &row);
        row.offset_phys = s.socks[i];
        row.sources = MS_NET_FROM_SCAN;
        ms_xp_finish_row(&ctx, "TCPA", &row);
        ms_xp_role(&s.conns, &row);
        if (fn(&row, user))
            break;
    }
    free(s.socks);
    ms_xp_conns_free(&s.conns);
    ms_xp_ctx_close(&ctx);
    return st;
}
