/* XP / 2003 `TCPT` and `TCPA` pool blocks, their bucket chains, freed and
 * reused blocks, decoy tags, and the truth rows.
 *
 * Scan constraints the blocks satisfy (Volatility 2 connscan.py /
 * sockscan.py, facts only): tag TCPT with BlockSize x alignment >= 0x198,
 * tag TCPA >= 0x15C, pool type nonpaged or free, PoolIndex < 5 (Rekall:
 * PoolIndex 0); the object starts right after the pool header.  Volatility
 * 2 sockets/sockscan also require _ADDRESS_OBJECT.CreateTime > 0. */
#include <stdio.h>
#include <string.h>

#include "net_xp.h"

static const char *bucket_err = "XP network: bucket chain write failed";

/* _POOL_HEADER bit field `name` as (bit position in the first dword, length). */
static void hdr_bits(const ig_ctx *c, int which, int *pos, int *len)
{
    static const char *names[4] = {"PreviousSize", "PoolIndex", "BlockSize", "PoolType"};
    static const int x64pos[4] = {0, 8, 16, 24}, x64len[4] = {8, 8, 8, 8};
    static const int x86pos[4] = {0, 9, 16, 25}, x86len[4] = {9, 7, 9, 7};
    long off;
    if (c->prof && ig_prof_bits(c->prof, "_POOL_HEADER", names[which], &off, pos, len) == IG_OK) {
        *pos += (int)off * 8;
        return;
    }
    *pos = c->ptr == 8 ? x64pos[which] : x86pos[which];
    *len = c->ptr == 8 ? x64len[which] : x86len[which];
}

static uint32_t hdr_get(const ig_ctx *c, uint32_t word, int which)
{
    int pos, len;
    hdr_bits(c, which, &pos, &len);
    return (word >> pos) & ((1u << len) - 1);
}

static uint32_t hdr_set(const ig_ctx *c, uint32_t word, int which, uint32_t v)
{
    int pos, len;
    hdr_bits(c, which, &pos, &len);
    uint32_t mask = ((1u << len) - 1) << pos;
    return (word & ~mask) | ((v << pos) & mask);
}

enum { H_PREV = 0, H_INDEX, H_SIZE, H_TYPE };

/* Would Volatility 2's checks accept this header for a block of at least
 * `min` bytes?  Pre-Vista PoolType: 0 free, odd nonpaged, even paged. */
static int scan_accepts(const ig_ctx *c, uint32_t word, uint32_t min)
{
    uint32_t type = hdr_get(c, word, H_TYPE);
    uint32_t size = hdr_get(c, word, H_SIZE) * (uint32_t)ig_pool_align(c);
    return (type == 0 || (type & 1)) && size >= min && hdr_get(c, word, H_INDEX) < 5;
}

static ig_status rptr(ig_ctx *c, uint64_t va, uint64_t *v)
{
    *v = 0;
    return ig_read(c, va, v, c->ptr);
}

static uint64_t pool_ptr(ig_ctx *c)
{
    const ig_region *r = &c->va[IG_VA_NPPOOL];
    uint64_t span = r->next > r->base + 0x1000 ? r->next - r->base : 0x1000;
    return r->base + (ig_rng_range(&c->rng, 0, span - 1) & ~7ull);
}

/* Structure-like content: mostly zero, some small numbers and pool pointers. */
static ig_status fill_struct(ig_ctx *c, uint64_t va, size_t len)
{
    uint8_t buf[0x400] = {0};
    if (len > sizeof buf)
        len = sizeof buf;
    for (size_t i = 0; i + c->ptr <= len; i += c->ptr) {
        uint64_t r = ig_rng_range(&c->rng, 0, 9), v = 0;
        if (r >= 6 && r < 8)
            v = ig_rng_range(&c->rng, 1, 0x400);
        else if (r >= 8)
            v = pool_ptr(c);
        memcpy(buf + i, &v, c->ptr);
    }
    return ig_write(c, va, buf, len);
}

/* Bytes another allocation left over a freed block: text and binary. */
static ig_status fill_garbage(ig_ctx *c, uint64_t va, size_t len)
{
    static const char text[] = "FAnt\\Device\\Tcp ntdll.dll GET /index.html HTTP/1.1 Host: update ";
    uint8_t buf[0x400];
    if (len > sizeof buf)
        len = sizeof buf;
    size_t t0 = (size_t)ig_rng_range(&c->rng, 0, sizeof text - 2);
    for (size_t i = 0; i < len; i++)
        buf[i] = (i / 16) % 3 == 1 ? (uint8_t)text[(t0 + i) % (sizeof text - 1)] : (uint8_t)ig_rng_next(&c->rng);
    return ig_write(c, va, buf, len);
}

static ig_status write_be16(ig_ctx *c, uint64_t va, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return ig_write(c, va, b, 2);
}

static ig_status write_fields(ig_ctx *c, const xp_net *n, const xp_obj *o)
{
    ig_status s = IG_OK;
    if (o->sock) {
        s |= ig_wptr(c, o->va + (uint64_t)n->a_next, 0);
        s |= ig_write(c, o->va + (uint64_t)n->a_laddr, o->laddr, 4);
        s |= write_be16(c, o->va + (uint64_t)n->a_lport, o->lport);
        s |= ig_w16(c, o->va + (uint64_t)n->a_proto, o->proto);
        s |= ig_w32(c, o->va + (uint64_t)n->a_pid, o->pid);
        s |= ig_w64(c, o->va + (uint64_t)n->a_ctime, o->ctime);
    } else {
        s |= ig_wptr(c, o->va + (uint64_t)n->t_next, 0);
        s |= ig_write(c, o->va + (uint64_t)n->t_raddr, o->raddr, 4);
        s |= ig_write(c, o->va + (uint64_t)n->t_laddr, o->laddr, 4);
        s |= write_be16(c, o->va + (uint64_t)n->t_rport, o->rport);
        s |= write_be16(c, o->va + (uint64_t)n->t_lport, o->lport);
        s |= ig_w32(c, o->va + (uint64_t)n->t_pid, o->pid);
    }
    return s == IG_OK ? IG_OK : IG_ERR;
}

/* Values of a reused block other than the fixed Rekall sample. */
static void garbage_values(ig_ctx *c, const xp_net *n, xp_obj *o)
{
    if (o->pid != 0)
        return;
    uint64_t r = ig_rng_next(&c->rng);
    memcpy(o->laddr, &r, 4);
    memcpy(o->raddr, (uint8_t *)&r + 4, 4);
    o->lport = (uint16_t)ig_rng_range(&c->rng, 1, 0xFFFF);
    o->rport = (uint16_t)ig_rng_range(&c->rng, 1, 0xFFFF);
    o->pid = (uint32_t)ig_rng_range(&c->rng, 0x10001, 0xFFFFFFFF) | 1;
    if (o->sock) {
        o->proto = (uint16_t)ig_rng_range(&c->rng, 0x100, 0xFFFF);
        /* a FILETIME a century or more after the dump */
        o->ctime = ig_rng_range(&c->rng, 0x0200000000000000ull, 0x02FFFFFFFFFFFFFFull);
    }
    (void)n;
}

/* Free the block: PoolType 0 and, like ExFreePool's free lists, a
 * LIST_ENTRY over the first bytes of the body (Next is lost, nothing
 * else).  Lookaside frees keep the allocated header and put an SLIST link
 * in the first pointer. */
static ig_status release(ig_ctx *c, const xp_obj *o, uint64_t hdr)
{
    if (o->state == XP_LOOKASIDE)
        return ig_wptr(c, o->va, ig_rng_range(&c->rng, 0, 1) ? pool_ptr(c) : 0);
    uint32_t word;
    if (ig_read(c, hdr, &word, 4) != IG_OK)
        return IG_ERR;
    word = hdr_set(c, word, H_TYPE, 0);
    if (ig_write(c, hdr, &word, 4) != IG_OK)
        return IG_ERR;
    if (o->state == XP_GARBAGE)
        return IG_OK;
    if (ig_wptr(c, o->va, pool_ptr(c)) != IG_OK || ig_wptr(c, o->va + c->ptr, pool_ptr(c)) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

static uint32_t tcb_hash(const xp_obj *o, uint32_t size)
{
    uint32_t h = (uint32_t)o->raddr[0] + o->raddr[1] * 7u + o->raddr[2] * 13u + o->raddr[3] * 31u;
    return (h + o->lport * 17u + o->rport) % size;
}

/* Insert at the head of the bucket's Next chain. */
static ig_status link(ig_ctx *c, const xp_net *n, const xp_obj *o)
{
    uint64_t table = o->sock ? n->ao_table : n->tcb_table;
    uint32_t size = o->sock ? n->ao_size : n->tcb_size;
    uint32_t b = o->bucket >= 0 ? (uint32_t)o->bucket % size : o->sock ? o->lport % size : tcb_hash(o, size);
    uint64_t slot = table + (uint64_t)b * c->ptr, head;
    long next = o->sock ? n->a_next : n->t_next;
    if (rptr(c, slot, &head) != IG_OK || ig_wptr(c, o->va + (uint64_t)next, head) != IG_OK ||
        ig_wptr(c, slot, o->va) != IG_OK)
        return ig_fail("%s", bucket_err);
    return IG_OK;
}

ig_status xp_objects_write(ig_ctx *c, xp_net *n)
{
    for (int i = 0; i < n->nobjs; i++) {
        xp_obj *o = &n->objs[i];
        if (ig_pool_noise(c, IG_POOL_NONPAGED, (int)ig_rng_range(&c->rng, 0, 2)) != IG_OK)
            return IG_ERR;
        uint64_t hdr;
        size_t body = o->sock ? n->a_body : n->t_body;
        if (ig_pool_alloc(c, IG_POOL_NONPAGED, o->sock ? "TCPA" : "TCPT", body, &o->va, &hdr) != IG_OK)
            return IG_ERR;
        if (ig_v2p(c, o->va, &o->pa) != IG_OK)
            return IG_ERR;
        if (o->state == XP_GARBAGE) {
            garbage_values(c, n, o);
            if (fill_garbage(c, o->va, body) != IG_OK)
                return IG_ERR;
        } else if (fill_struct(c, o->va, body) != IG_OK) {
            return IG_ERR;
        }
        if (write_fields(c, n, o) != IG_OK)
            return IG_ERR;
        if (o->state != XP_LIVE && release(c, o, hdr) != IG_OK)
            return IG_ERR;
    }
    for (int i = 0; i < n->nobjs; i++)
        if (n->objs[i].state == XP_LIVE && link(c, n, &n->objs[i]) != IG_OK)
            return IG_ERR;
    return IG_OK;
}

/* ---- decoys: the tags where no scanner may accept them ---- */

static uint32_t make_hdr(const ig_ctx *c, uint32_t index, uint32_t bytes, uint32_t type)
{
    uint32_t w = hdr_set(c, 0, H_PREV, 3);
    w = hdr_set(c, w, H_INDEX, index);
    w = hdr_set(c, w, H_SIZE, bytes / (uint32_t)ig_pool_align(c));
    return hdr_set(c, w, H_TYPE, type);
}

/* Make sure every TCPT/TCPA in buf (a page) fails the scan checks. */
static void defuse(const ig_ctx *c, uint8_t *buf, size_t len)
{
    for (size_t i = 4; i + 4 <= len; i++) {
        if (memcmp(buf + i, "TCPT", 4) != 0 && memcmp(buf + i, "TCPA", 4) != 0)
            continue;
        uint32_t w;
        memcpy(&w, buf + i - 4, 4);
        if (scan_accepts(c, w, 0x15C)) {
            w = hdr_set(c, w, H_TYPE, 2); /* paged */
            memcpy(buf + i - 4, &w, 4);
        }
    }
}

ig_status xp_decoys_write(ig_ctx *c, const xp_net *n)
{
    (void)n;
    /* inside an unrelated nonpaged block: too small, paged, bad PoolIndex */
    uint64_t body;
    if (ig_pool_alloc(c, IG_POOL_NONPAGED, "Mdl ", 0x200, &body, NULL) != IG_OK ||
        fill_struct(c, body, 0x200) != IG_OK)
        return IG_ERR;
    struct { uint32_t off; const char *tag; uint32_t index, bytes, type; } in_pool[] = {
        {0x40, "TCPT", 0, 0x20, 1},
        {0x100, "TCPA", 0, 0x180, 2},
        {0x180, "TCPT", 9, 0x1C0, 1},
    };
    for (size_t i = 0; i < sizeof in_pool / sizeof *in_pool; i++) {
        uint8_t h[8];
        uint32_t w = make_hdr(c, in_pool[i].index, in_pool[i].bytes, in_pool[i].type);
        if (scan_accepts(c, w, 0x15C))
            return ig_fail("XP network: decoy header would pass a pool scan");
        memcpy(h, &w, 4);
        memcpy(h + 4, in_pool[i].tag, 4);
        if (ig_write(c, body + in_pool[i].off, h, 8) != IG_OK)
            return IG_ERR;
    }
    /* a page of log text and binary data that mentions the tags */
    static const char *lines[] = {
        "netsh: TCPTABLE dump follows\r\n", "MIB_TCPTABLE_OWNER_PID rows=12\r\n",
        "[TCPA] bind 0.0.0.0:445 ok\r\n", "TCPT TCPA TCPT handles leaked\r\n",
    };
    uint8_t page[IG_PAGE];
    for (size_t i = 0; i < sizeof page; i++)
        page[i] = (uint8_t)ig_rng_next(&c->rng);
    size_t at = (size_t)ig_rng_range(&c->rng, 0x10, 0x400);
    for (int k = 0; k < 40 && at + 40 < sizeof page; k++) {
        const char *l = lines[ig_rng_range(&c->rng, 0, 3)];
        memcpy(page + at, l, strlen(l));
        at += strlen(l) + (size_t)ig_rng_range(&c->rng, 0, 60);
    }
    defuse(c, page, sizeof page);
    uint64_t pa;
    if (ig_frame_alloc(c, &pa) != IG_OK || ig_phys_write(c, pa, page, sizeof page) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

/* ---- truth ---- */

static const char *proto_name(uint16_t p)
{
    /* IANA names, as Volatility 2's protos table prints them */
    switch (p) {
    case 0: return "HOPOPT";
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 47: return "GRE";
    case 255: return "Reserved";
    default: return NULL;
    }
}

static const char *owner(const ig_ctx *c, uint32_t pid)
{
    for (int i = 0; i < c->nprocs; i++)
        if (c->procs[i].pid == pid)
            return c->procs[i].name;
    return NULL;
}

static int addr_is(const uint8_t a[4], unsigned x0, unsigned x1, unsigned x2, unsigned x3)
{
    return a[0] == x0 && a[1] == x1 && a[2] == x2 && a[3] == x3;
}

/* Values a live tcpip could hold, judged from the object alone (the same
 * rule as memsift's, docs/usage.md): a PID of the NT range (a multiple of
 * 4 below 2^26), a local address 0.0.0.0 or unicast (not 0/8, below
 * 224.0.0.0), for connections non-zero ports and a unicast remote address,
 * for sockets a protocol number below 256, a port for TCP/UDP and a
 * CreateTime from 1980 to a day after the dump. */
static int unicast(const uint8_t a[4], int any_ok)
{
    if (addr_is(a, 0, 0, 0, 0))
        return any_ok;
    return a[0] != 0 && a[0] < 224;
}

static int plausible(const ig_ctx *c, const xp_net *n, const xp_obj *o)
{
    (void)n;
    if (o->pid % 4 != 0 || o->pid >= (1u << 26) || !unicast(o->laddr, 1))
        return 0;
    if (!o->sock)
        return o->lport != 0 && o->rport != 0 && unicast(o->raddr, 0);
    if (o->proto > 255 || ((o->proto == 6 || o->proto == 17) && o->lport == 0))
        return 0;
    const uint64_t y1980 = 0x01A8E79FE1D58000ull, day = 864000000000ull;
    return o->ctime >= y1980 && o->ctime <= c->system_time + day;
}

static const char *jbool(int v) { return v ? "true" : "false"; }

ig_status xp_truth_add(ig_ctx *c, const xp_net *n)
{
    for (int i = 0; i < n->nobjs; i++) {
        const xp_obj *o = &n->objs[i];
        char own[40] = "null", created[48] = "null", proto[64], foreign[64], la[16], tail[320], row[768];
        const char *on = owner(c, o->pid);
        if (on)
            snprintf(own, sizeof own, "\"%s\"", on);
        snprintf(la, sizeof la, "%u.%u.%u.%u", o->laddr[0], o->laddr[1], o->laddr[2], o->laddr[3]);
        if (o->sock) {
            char iso[32];
            ig_filetime_iso(o->ctime, iso);
            snprintf(created, sizeof created, "\"%s\"", iso);
            const char *pn = proto_name(o->proto);
            snprintf(proto, sizeof proto, "\"%s\", \"protocol\": %u, \"protocol_name\": %s%s%s",
                     o->proto == 6 ? "TCPv4" : o->proto == 17 ? "UDPv4" : "RAWv4", o->proto, pn ? "\"" : "",
                     pn ? pn : "null", pn ? "\"" : "");
            snprintf(foreign, sizeof foreign, "null, \"foreign_port\": null");
        } else {
            snprintf(proto, sizeof proto, "\"TCPv4\"");
            snprintf(foreign, sizeof foreign, "\"%u.%u.%u.%u\", \"foreign_port\": %u", o->raddr[0], o->raddr[1],
                     o->raddr[2], o->raddr[3], o->rport);
        }
        snprintf(tail, sizeof tail,
                 "\"offset\": %llu, \"offset_phys\": %llu, \"tag\": \"%s\", \"reachable\": %s, "
                 "\"pool_scan\": true, \"plausible\": %s, ",
                 (unsigned long long)o->va, (unsigned long long)o->pa, o->sock ? "TCPA" : "TCPT",
                 jbool(o->state == XP_LIVE), jbool(plausible(c, n, o)));
        snprintf(row, sizeof row,
                 "{\"kind\": \"%s\", \"proto\": %s, \"local_addr\": \"%s\", \"local_port\": %u, "
                 "\"foreign_addr\": %s, \"pid\": %u, \"owner\": %s, \"created\": %s, %s%s\"in_dump\": true}",
                 o->sock ? "socket" : "connection", proto, la, o->lport, foreign, o->pid, own, created, tail,
                 !o->sock ? "" : o->state == XP_GARBAGE ? "\"role\": null, "
                 : o->role_conn ? "\"role\": \"connection\", " : "\"role\": \"listener\", ");
        if (ig_truth_add_connection(c, row) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}
