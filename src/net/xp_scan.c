/* XP / 2003: one pass over physical memory for TCPT and TCPA blocks. */
#include <string.h>

#include "xp_net.h"

/* Pre-Vista pools: nonpaged pool is PoolIndex 0, paged pools 1..4 (Volatility
 * 2 accepts < 5, Rekall only 0); a small block never passes its page. */
#define MS_XP_MAX_POOL_INDEX 4u

typedef struct scan_state {
    ms_xp_ctx *ctx;
    const ms_xp_layout *l;
    size_t conn_tag, sock_tag;
    int want_conns, want_socks;
    ms_xp_hit_fn fn;
    void *user;
} scan_state;

static int on_hit(const ms_pool_hit *hit, void *user)
{
    scan_state *s = user;
    const ms_xp_layout *l = s->l;
    ms_net_endpoint row;
    int conn = hit->tag_index == s->conn_tag;
    if (conn ? !s->want_conns : !s->want_socks)
        return 0;
    uint32_t need = l->hdr + (conn ? l->t_size : l->a_size);
    if (hit->block_len < need)
        return 0;
    const uint8_t *obj = hit->block + l->hdr;
    if (conn)
        ms_xp_decode_connection(l, obj, &row);
    else
        ms_xp_decode_socket(l, obj, s->ctx->now, &row);
    row.offset_phys = hit->paddr + l->hdr;
    row.sources = MS_NET_FROM_SCAN;
    ms_xp_finish_row(s->ctx, conn ? "TCPT" : "TCPA", &row);
    return s->fn(&row, s->user);
}

/* Smallest blocks Volatility 2 accepts (TCPT 0x198, TCPA 0x15C bytes): real
 * objects are much larger than the fields memsift decodes. */
#define MS_XP_MIN_TCPT_BLOCK 0x198u
#define MS_XP_MIN_TCPA_BLOCK 0x15Cu

static void rule_for(const ms_xp_layout *l, uint32_t object_size, uint32_t min_block, ms_pool_rule *rule)
{
    ms_pool_rule_init(rule);
    rule->object_size = object_size;
    rule->min_block = min_block;
    rule->max_block = 0x1000;
    rule->max_pool_index = MS_XP_MAX_POOL_INDEX;
    rule->checks = MS_POOL_CHECK_PAGE;
    ms_pool_rule_set_types(rule, MS_POOLTYPE_ODD_NONPAGED, MS_POOL_CLASS_NONPAGED | MS_POOL_CLASS_FREE);
    (void)l;
}

ms_status ms_xp_scan(ms_xp_ctx *ctx, const ms_net_options *opts, int want_conns, int want_socks, ms_xp_hit_fn fn,
                     void *user)
{
    ms_image *image = ms_vspace_image(ctx->vs);
    scan_state s = {ctx, &ctx->layouts[0], 0, 0, want_conns, want_socks, fn, user};
    ms_tagscan_options topts;
    ms_tagscan_options_init(&topts);
    topts.layout = s.l->pool;
    topts.threads = opts ? opts->threads : 0;
    ms_tagscan *scanner;
    ms_status st = ms_tagscan_create(&topts, &scanner);
    if (st != MS_OK)
        return st;
    ms_pool_rule rule;
    if (want_conns) {
        rule_for(s.l, s.l->t_size, MS_XP_MIN_TCPT_BLOCK, &rule);
        st = ms_tagscan_add_tag(scanner, "TCPT", &rule, &s.conn_tag);
    }
    if (st == MS_OK && want_socks) {
        rule_for(s.l, s.l->a_size, MS_XP_MIN_TCPA_BLOCK, &rule);
        st = ms_tagscan_add_tag(scanner, "TCPA", &rule, &s.sock_tag);
    }
    if (!want_conns)
        s.conn_tag = (size_t)-1;
    if (st == MS_OK)
        st = ms_tagscan_run(scanner, image, on_hit, &s, opts ? opts->progress : NULL,
                            opts ? opts->progress_user : NULL);
    ms_tagscan_destroy(scanner);
    return st;
}
