/* Vista+ network objects: layouts from a profile, decoding, and the walks
 * of hand-built partitions (hash tables with long chains, loops, two-level
 * directories, foreign tags) and port pools, in x64 memory made here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/vista_net.h"
#include "support/pagetable_builder.h"

static const char PROFILE[] =
    "profile test-19041-x64\nmodule tcpip\narch x64\nbuilds 19041 19045\n"
    "struct _ADDRINFO 0x0\nfield _ADDRINFO Local 0x0 0x8\nfield _ADDRINFO Remote 0x10 0x8\n"
    "struct _INETAF 0x1a\nfield _INETAF AddressFamily 0x18 0x2\n"
    "struct _INET_COMPARTMENT 0x30\nfield _INET_COMPARTMENT ProtocolCompartment 0x20 0x8\n"
    "struct _INET_COMPARTMENT_SET 0x180\nfield _INET_COMPARTMENT_SET InetCompartment 0x148 0x8\n"
    "struct _INET_PORT_POOL 0x2bc0\nfield _INET_PORT_POOL PortBitMap 0xd0 0x10\n"
    "field _INET_PORT_POOL PortAssignments 0xe0 0x800\n"
    "struct _LOCAL_ADDRESS 0x0\nfield _LOCAL_ADDRESS pData 0x10 0x8\n"
    "struct _LOCAL_ADDRESS_WIN10_UDP 0x0\nfield _LOCAL_ADDRESS_WIN10_UDP pData 0x0 0x8\n"
    "struct _PARTITION 0xc0\nfield _PARTITION Endpoints 0x8 0x8\nfield _PARTITION UnknownHashTable 0x10 0x8\n"
    "struct _PORT_ASSIGNMENT 0x20\nfield _PORT_ASSIGNMENT InPaBigPoolBase 0x18 0x8\n"
    "struct _PORT_ASSIGNMENT_ENTRY 0x20\nfield _PORT_ASSIGNMENT_ENTRY Entry 0x10 0x8\n"
    "struct _PROTOCOL_COMPARTMENT 0x10\nfield _PROTOCOL_COMPARTMENT PortPool 0x0 0x8\n"
    "struct _TCP_ENDPOINT 0x0\nfield _TCP_ENDPOINT InetAF 0x10 0x8\nfield _TCP_ENDPOINT AddrInfo 0x18 0x8\n"
    "field _TCP_ENDPOINT ListEntry 0x28 0x10\nfield _TCP_ENDPOINT State 0x6c 0x4\n"
    "field _TCP_ENDPOINT LocalPort 0x70 0x2\nfield _TCP_ENDPOINT RemotePort 0x72 0x2\n"
    "field _TCP_ENDPOINT Owner 0x2d8 0x8\nfield _TCP_ENDPOINT CreateTime 0x2e8 0x8\n"
    "struct _TCP_LISTENER 0x80\nfield _TCP_LISTENER InetAF 0x28 0x8\nfield _TCP_LISTENER Owner 0x30 0x8\n"
    "field _TCP_LISTENER CreateTime 0x40 0x8\nfield _TCP_LISTENER LocalAddr 0x60 0x8\n"
    "field _TCP_LISTENER Port 0x72 0x2\nfield _TCP_LISTENER Next 0x78 0x8\n"
    "struct _UDP_ENDPOINT 0x0\nfield _UDP_ENDPOINT InetAF 0x20 0x8\nfield _UDP_ENDPOINT Owner 0x28 0x8\n"
    "field _UDP_ENDPOINT CreateTime 0x58 0x8\nfield _UDP_ENDPOINT Next 0x70 0x8\n"
    "field _UDP_ENDPOINT Port 0xa0 0x2\nfield _UDP_ENDPOINT LocalAddr 0xa8 0x8\n";

#define KVA 0xffffa00000000000ull
#define PAGES 64

/* Kernel memory: PAGES pages at KVA, physically scattered, and a bump
 * allocator of pool blocks with x64 pool headers. */
typedef struct mem {
    ptb b;
    uint64_t pa[PAGES];
    uint64_t next;               /* next free byte, as an offset from KVA */
} mem;

static void mem_init(mem *m)
{
    memset(m, 0, sizeof *m);
    assert_int_equal(ptb_init(&m->b, MS_PAGING_X64, 2u << 20), 0);
    for (int i = 0; i < PAGES; i++) {
        m->pa[PAGES - 1 - i] = ptb_alloc(&m->b); /* descending: pages are not physically next */
    }
    for (int i = 0; i < PAGES; i++)
        ptb_map(&m->b, KVA + (uint64_t)i * 4096, m->pa[i]);
}

static void put(mem *m, uint64_t va, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        uint64_t off = va - KVA + i;
        assert_true(off < (uint64_t)PAGES * 4096);
        m->b.mem[m->pa[off / 4096] + off % 4096] = p[i];
    }
}

static void put64(mem *m, uint64_t va, uint64_t v) { put(m, va, &v, 8); }
static void put32(mem *m, uint64_t va, uint32_t v) { put(m, va, &v, 4); }
static void put16(mem *m, uint64_t va, uint16_t v) { put(m, va, &v, 2); }
static void put_be16(mem *m, uint64_t va, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(m, va, b, 2);
}

/* A pool block tagged `tag` with `size` bytes of body; returns the body. */
static uint64_t block(mem *m, const char *tag, uint32_t size)
{
    uint32_t total = (16 + size + 15) & ~15u;
    if ((m->next % 4096) + total > 4096)
        m->next = (m->next + 4095) & ~4095ull;
    uint64_t hdr = KVA + m->next;
    uint8_t h[16] = {0, 0, (uint8_t)(total / 16), 2};
    memcpy(h + 4, tag, 4);
    put(m, hdr, h, 16);
    m->next += total;
    return hdr + 16;
}

/* A page-aligned allocation without a pool header (big pool). */
static uint64_t big(mem *m, uint32_t size)
{
    m->next = (m->next + 4095) & ~4095ull;
    uint64_t va = KVA + m->next;
    m->next += (size + 4095) & ~4095u;
    return va;
}

typedef struct world {
    mem m;
    ms_profile *prof;
    ms_vista_ctx ctx;
    ms_image *image;
    uint64_t inetaf4, inetaf6, local4, table;
} world;

static void world_init(world *w)
{
    memset(w, 0, sizeof *w);
    mem_init(&w->m);
    assert_int_equal(ms_profile_parse(PROFILE, sizeof PROFILE - 1, "test", &w->prof), MS_OK);
    assert_int_equal(ms_vista_layout_from_profile(w->prof, NULL, 19041, &w->ctx.L), MS_OK);
    snprintf(w->ctx.profile_name, sizeof w->ctx.profile_name, "test");
    w->inetaf4 = block(&w->m, "InNl", 0x20);
    put16(&w->m, w->inetaf4 + 0x18, 2);
    w->inetaf6 = block(&w->m, "InNl", 0x20);
    put16(&w->m, w->inetaf6 + 0x18, 23);
    /* _LOCAL_ADDRESS X: pData (+0x10) -> Q, *Q -> the bytes 10.0.2.15 */
    w->local4 = block(&w->m, "IPla", 0x60);
    uint64_t q = w->local4 + 0x20;
    put64(&w->m, w->local4 + 0x10, q);
    put64(&w->m, q, q + 0x28);
    put(&w->m, q + 0x28, "\x0a\x00\x02\x0f", 4);
    put64(&w->m, w->local4, q + 0x28); /* the UDP (Win10) path: pData at +0 -> bytes */
}

/* `text` with its first `from` replaced by `to` (no longer than `from`). */
/* The profile with the gaps some builds' profiles have (no
 * PortAssignments, no _PARTITION size) is made with replace(): `text` with
 * its first `from` replaced by `to` (no longer than `from`). */
static void replace(char *text, const char *from, const char *to)
{
    char *at = strstr(text, from);
    assert_non_null(at);
    size_t lf = strlen(from), lt = strlen(to);
    assert_true(lt <= lf);
    memcpy(at, to, lt);
    memmove(at + lt, at + lf, strlen(at + lf) + 1);
}

static void world_init_gaps(world *w)
{
    char text[sizeof PROFILE];
    memcpy(text, PROFILE, sizeof PROFILE);
    replace(text, "field _INET_PORT_POOL PortAssignments 0xe0 0x800\n", "");
    replace(text, "struct _PARTITION 0xc0\n", "struct _PARTITION 0x0\n");
    world_init(w);
    ms_profile_destroy(w->prof);
    assert_int_equal(ms_profile_parse(text, strlen(text), "gaps", &w->prof), MS_OK);
    assert_int_equal(ms_vista_layout_from_profile(w->prof, NULL, 19041, &w->ctx.L), MS_OK);
    assert_int_equal(w->ctx.L.pp_assign, -1);
    assert_int_equal(w->ctx.L.part_size, 0);
}

static void world_open(world *w)
{
    assert_int_equal(ptb_open(&w->m.b, &w->image), 0);
    assert_int_equal(ms_vspace_create(w->image, MS_PAGING_X64, w->m.b.root, &w->ctx.vs), MS_OK);
}

static void world_free(world *w)
{
    ms_vspace_destroy(w->ctx.vs);
    ms_profile_destroy(w->prof);
    ptb_free(&w->m.b);
}

/* A TCB to 93.184.216.34:443 from local port `lport`, ESTABLISHED. */
static uint64_t tcb(world *w, uint16_t lport, const char *tag)
{
    uint64_t ai = block(&w->m, "IPpa", 0x40);
    put64(&w->m, ai, w->local4);
    put64(&w->m, ai + 0x10, ai + 0x30);
    put(&w->m, ai + 0x30, "\x5d\xb8\xd8\x22", 4);
    uint64_t o = block(&w->m, tag, 0x300);
    put64(&w->m, o + 0x10, w->inetaf4);
    put64(&w->m, o + 0x18, ai);
    put32(&w->m, o + 0x6c, 4);
    put_be16(&w->m, o + 0x70, lport);
    put_be16(&w->m, o + 0x72, 443);
    put64(&w->m, o + 0x2e8, 0x01d6eb4e3c1a0000ull); /* 2021 */
    return o;
}

/* A hash table at `ht` of `buckets` buckets (directory `dir`, flat or
 * two-level) with all buckets empty. */
static void hash_table(world *w, uint64_t ht, uint32_t buckets, uint64_t dir)
{
    put32(&w->m, ht + 8, buckets);
    put32(&w->m, ht + 0x10, buckets - 1);
    put64(&w->m, ht + 0x20, dir);
}

static void list_init(world *w, uint64_t head)
{
    put64(&w->m, head, head);
    put64(&w->m, head + 8, head);
}

static void list_append(world *w, uint64_t head, uint64_t entry)
{
    uint64_t last = 0;
    uint8_t *mem = w->m.b.mem;
    uint64_t off = head + 8 - KVA;
    memcpy(&last, mem + w->m.pa[off / 4096] + off % 4096, 8);
    put64(&w->m, entry, head);
    put64(&w->m, entry + 8, last);
    put64(&w->m, last, entry);
    put64(&w->m, head + 8, entry);
}

typedef struct seen {
    ms_net_endpoint rows[64];
    size_t n;
} seen;

static int keep(ms_net_endpoint *row, void *user)
{
    seen *s = user;
    if (s->n < 64)
        s->rows[s->n++] = *row;
    return 0;
}

static const ms_net_endpoint *by_port(const seen *s, uint16_t port)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->rows[i].local_port == port)
            return &s->rows[i];
    return NULL;
}

static void test_layout_from_profile(void **state)
{
    (void)state;
    ms_profile *p;
    assert_int_equal(ms_profile_parse(PROFILE, sizeof PROFILE - 1, "test", &p), MS_OK);
    ms_vista_layout L;
    assert_int_equal(ms_vista_layout_from_profile(p, NULL, 19041, &L), MS_OK);
    assert_int_equal(L.ptr, 8);
    assert_int_equal(L.hdr, 16);
    assert_int_equal(L.part_size, 0xc0);
    assert_int_equal(L.obj[MS_VK_TCB].list, 0x28);
    assert_int_equal(L.obj[MS_VK_TCB].size, 0x2f0);         /* CreateTime 0x2e8 + 8 */
    assert_true(L.udp_local_direct);
    assert_int_equal(L.obj[MS_VK_UDP].size, 0xb0);           /* LocalAddr 0xa8 + 8 */
    /* No published TIME_WAIT/SYN layout: the Windows 10 facts. */
    assert_true(L.obj[MS_VK_TIMEWAIT].present);
    assert_int_equal(L.obj[MS_VK_TIMEWAIT].raddr, 0x58);
    assert_true(L.obj[MS_VK_TIMEWAIT].inline_remote);
    assert_int_equal(L.obj[MS_VK_TIMEWAIT].ctime, 0x98);
    assert_int_equal(L.obj[MS_VK_SYN].owner, 0x40);
    assert_int_equal(L.syn_process, 0x28);
    assert_string_equal(L.obj[MS_VK_TCB].tags[0], "TcpE");
    assert_string_equal(L.obj[MS_VK_TCB].tags[1], "TTcb");
    /* Before Windows 10 there are no such facts. */
    assert_int_equal(ms_vista_layout_from_profile(p, NULL, 9600, &L), MS_OK);
    assert_false(L.obj[MS_VK_TIMEWAIT].present);
    ms_profile_destroy(p);

    static const char bad[] = "profile b\nmodule tcpip\narch x64\nbuilds 1 2\nstruct _TCP_ENDPOINT 0x0\n";
    assert_int_equal(ms_profile_parse(bad, sizeof bad - 1, "bad", &p), MS_OK);
    assert_int_equal(ms_vista_layout_from_profile(p, NULL, 19041, &L), MS_ERR_FORMAT);
    ms_profile_destroy(p);
}

static void test_names(void **state)
{
    (void)state;
    char buf[64];
    const uint8_t v4[4] = {10, 0, 2, 15};
    ms_vista_addr_text(0, v4, buf, sizeof buf);
    assert_string_equal(buf, "10.0.2.15");
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x15};
    ms_vista_addr_text(1, v6, buf, sizeof buf);
    assert_string_equal(buf, "2001:db8:1::15");
    assert_string_equal(ms_vista_state_name(4), "ESTABLISHED");
    assert_string_equal(ms_vista_state_name(12), "TIME_WAIT");
    assert_null(ms_vista_state_name(10));
    assert_null(ms_vista_state_name(14));
    assert_true(ms_vista_kernel_ptr(8, 0xffffa00000000000ull));
    assert_false(ms_vista_kernel_ptr(8, 0x00007ff000000000ull));
    assert_true(ms_vista_kernel_ptr(4, 0x80001000ull));
    assert_false(ms_vista_kernel_ptr(4, 0x7ffe0000ull));
}

/* One partition, its Endpoints table holding a chain of five TCBs in one
 * bucket (Volatility 3 reads only the first), a TCB in another bucket, an
 * entry with a foreign tag, and a bucket whose chain loops. */
static void test_partition_walk(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    uint64_t part = block(&w.m, "TcPt", 0xc0);
    uint64_t tables = block(&w.m, "TcHT", 0x1c0);
    put64(&w.m, part + 8, tables + 0x40);
    put64(&w.m, part + 0x10, tables + 0x100);
    uint64_t ht = tables + 0x40;
    uint64_t dir = block(&w.m, "HTab", 128 * 16);
    hash_table(&w, ht, 128, dir);
    for (int b = 0; b < 128; b++)
        list_init(&w, dir + 16 * (uint64_t)b);
    for (int i = 0; i < 5; i++)
        list_append(&w, dir + 16 * 5, tcb(&w, (uint16_t)(50000 + i), "TcpE") + 0x28);
    list_append(&w, dir + 16 * 9, tcb(&w, 50100, "TTcb") + 0x28);
    list_append(&w, dir + 16 * 9, tcb(&w, 50101, "Junk") + 0x28);
    /* bucket 20: an entry whose Flink points to itself */
    uint64_t looper = tcb(&w, 50200, "TcpE") + 0x28;
    put64(&w.m, dir + 16 * 20, looper);
    put64(&w.m, looper, looper);
    /* the other three Endpoints tables and the UnknownHashTable ones: empty or zero */
    world_open(&w);

    seen s = {0};
    size_t found = 0;
    assert_int_equal(ms_vista_walk_partitions(&w.ctx, part, 1, keep, &s, &found), MS_OK);
    assert_int_equal(found, 7);
    assert_int_equal(s.n, 7);
    for (int i = 0; i < 5; i++) {
        const ms_net_endpoint *e = by_port(&s, (uint16_t)(50000 + i));
        assert_non_null(e);
        assert_string_equal(e->local_addr, "10.0.2.15");
        assert_string_equal(e->foreign_addr, "93.184.216.34");
        assert_int_equal(e->foreign_port, 443);
        assert_string_equal(e->state, "ESTABLISHED");
        assert_int_equal(e->family, 4);
        assert_string_equal(e->tag, "TcpE");
        assert_int_equal(e->sources, MS_NET_FROM_WALK);
        assert_int_equal(e->created, 0x01d6eb4e3c1a0000ull);
        assert_int_not_equal(e->offset_phys, 0);
    }
    assert_string_equal(by_port(&s, 50100)->tag, "TTcb");
    assert_null(by_port(&s, 50101));
    assert_non_null(by_port(&s, 50200));

    /* Hostile counts and pointers fail cleanly. */
    assert_int_equal(ms_vista_walk_partitions(&w.ctx, part, 0, keep, &s, &found), MS_ERR_FORMAT);
    assert_int_equal(ms_vista_walk_partitions(&w.ctx, part, 100000, keep, &s, &found), MS_ERR_FORMAT);
    assert_int_equal(ms_vista_walk_partitions(&w.ctx, 0x1000, 1, keep, &s, &found), MS_ERR_FORMAT);
    world_free(&w);
}

/* A table of 256 buckets: 16 first-level pointers, the first to 128
 * buckets, the second to the next 128 (RTL_DYNAMIC_HASH_TABLE's layout
 * past 128 buckets). */
static void test_two_level_directory(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    uint64_t part = block(&w.m, "TcPt", 0xc0);
    uint64_t tables = block(&w.m, "TcHT", 0x1c0);
    put64(&w.m, part + 8, tables + 0x40);
    uint64_t first = block(&w.m, "HTab", 16 * 8);
    uint64_t second[2] = {block(&w.m, "HTab", 128 * 16), block(&w.m, "HTab", 128 * 16)};
    hash_table(&w, tables + 0x40, 256, first);
    for (int i = 0; i < 2; i++) {
        put64(&w.m, first + 8 * (uint64_t)i, second[i]);
        for (int b = 0; b < 128; b++)
            list_init(&w, second[i] + 16 * (uint64_t)b);
    }
    list_append(&w, second[0] + 16 * 3, tcb(&w, 40003, "TcpE") + 0x28);
    list_append(&w, second[1] + 16 * 72, tcb(&w, 40200, "TcpE") + 0x28); /* bucket 200 */
    world_open(&w);
    seen s = {0};
    size_t found = 0;
    assert_int_equal(ms_vista_walk_partitions(&w.ctx, part, 1, keep, &s, &found), MS_OK);
    assert_int_equal(found, 2);
    assert_non_null(by_port(&s, 40003));
    assert_non_null(by_port(&s, 40200));
    world_free(&w);
}

/* A port pool: PortAssignments[0x01] -> InPA -> list; port 0x0187 (391)
 * chains two listeners; PortAssignments[0x02] chains a UDP endpoint
 * (Win10 UDP local address) and a block with a foreign tag. */
static void test_port_pool(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    uint64_t pool = big(&w.m, 0x3000);
    uint64_t pa1 = block(&w.m, "InPA", 0x20), pa2 = block(&w.m, "InPA", 0x20), pa3 = block(&w.m, "Bogu", 0x20);
    uint64_t list1 = big(&w.m, 256 * 0x20), list2 = big(&w.m, 256 * 0x20);
    put64(&w.m, pool + 0xe0 + 8 * 1, pa1);
    put64(&w.m, pool + 0xe0 + 8 * 2, pa2);
    put64(&w.m, pool + 0xe0 + 8 * 3, pa3);
    put64(&w.m, pa1 + 0x18, list1);
    put64(&w.m, pa2 + 0x18, list2);
    put64(&w.m, pa3 + 0x18, list1);
    uint64_t l1 = block(&w.m, "TcpL", 0x80), l2 = block(&w.m, "TcpL", 0x80);
    put64(&w.m, l1 + 0x28, w.inetaf4);
    put64(&w.m, l1 + 0x60, w.local4);
    put_be16(&w.m, l1 + 0x72, 391);
    put64(&w.m, l2 + 0x28, w.inetaf6);
    put_be16(&w.m, l2 + 0x72, 391);
    put64(&w.m, list1 + 0x87 * 0x20 + 0x10, (l1 + 0x78) | 1);
    put64(&w.m, l1 + 0x78, (l2 + 0x78) | 1);
    uint64_t u = block(&w.m, "UdpA", 0xb0), junk = block(&w.m, "Junk", 0xb0);
    put64(&w.m, u + 0x20, w.inetaf4);
    put64(&w.m, u + 0xa8, w.local4);
    put_be16(&w.m, u + 0xa0, 0x0289);
    put64(&w.m, list2 + 0x89 * 0x20 + 0x10, (u + 0x70) | 1);
    put64(&w.m, u + 0x70, (junk + 0x70) | 1);
    put64(&w.m, junk + 0x70, (u + 0x70) | 1); /* a loop through a foreign block */
    world_open(&w);

    seen s = {0};
    size_t nl = 0, nu = 0;
    assert_int_equal(ms_vista_walk_port_pool(&w.ctx, pool, keep, &s, &nl, &nu), MS_OK);
    assert_int_equal(nl, 2);
    assert_int_equal(nu, 1);
    assert_int_equal(s.n, 3);
    const ms_net_endpoint *a = &s.rows[0], *b = &s.rows[1], *c = &s.rows[2];
    assert_int_equal(a->kind, MS_NET_TCP_LISTENER);
    assert_string_equal(a->local_addr, "10.0.2.15");
    assert_int_equal(a->local_port, 391);
    assert_string_equal(a->state, "LISTENING");
    assert_string_equal(a->foreign_addr, "0.0.0.0");
    assert_int_equal(b->family, 6);
    assert_string_equal(b->local_addr, "::");
    assert_string_equal(b->foreign_addr, "::");
    assert_int_equal(c->kind, MS_NET_UDP_ENDPOINT);
    assert_int_equal(c->local_port, 0x0289);
    assert_string_equal(c->local_addr, "10.0.2.15");
    assert_string_equal(c->foreign_addr, "*");
    assert_string_equal(c->state, "");
    world_free(&w);
}

/* Decoding rejects what is not an endpoint. */
static void test_decode_rejects(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    uint64_t o = tcb(&w, 1234, "TcpE");
    world_open(&w);
    uint8_t buf[0x300];
    ms_net_endpoint e;
    assert_int_equal(ms_vspace_read(w.ctx.vs, o, buf, sizeof buf), MS_OK);
    assert_int_equal(ms_vista_decode(&w.ctx, MS_VK_TCB, buf, sizeof buf, &e), MS_OK);
    assert_int_equal(e.local_port, 1234);
    assert_int_equal(ms_vista_decode(&w.ctx, MS_VK_TCB, buf, 0x100, &e), MS_ERR_TRUNCATED);
    uint8_t bad[0x300];
    memcpy(bad, buf, sizeof bad);
    bad[0x6c] = 11; /* not a TCP state */
    assert_int_equal(ms_vista_decode(&w.ctx, MS_VK_TCB, bad, sizeof bad, &e), MS_ERR_FORMAT);
    memcpy(bad, buf, sizeof bad);
    memset(bad + 0x10, 0x41, 8); /* InetAF garbage */
    assert_int_equal(ms_vista_decode(&w.ctx, MS_VK_TCB, bad, sizeof bad, &e), MS_ERR_FORMAT);
    memcpy(bad, buf, sizeof bad);
    memcpy(bad + 0x10, &w.local4, 8); /* a kernel pointer, but not to an INETAF */
    assert_int_equal(ms_vista_decode(&w.ctx, MS_VK_TCB, bad, sizeof bad, &e), MS_ERR_FORMAT);
    memcpy(bad, buf, sizeof bad);
    memset(bad + 0x2d8, 0x41, 8); /* owner not a kernel address */
    assert_int_equal(ms_vista_decode(&w.ctx, MS_VK_TCB, bad, sizeof bad, &e), MS_ERR_FORMAT);
    /* Random bytes never crash and almost never decode. */
    srand(7);
    int passed = 0;
    for (int i = 0; i < 2000; i++) {
        for (size_t k = 0; k < sizeof bad; k++)
            bad[k] = (uint8_t)rand();
        for (int kind = 0; kind < MS_VK_COUNT; kind++)
            passed += ms_vista_decode(&w.ctx, (ms_vista_kind)kind, bad, sizeof bad, &e) == MS_OK;
    }
    assert_int_equal(passed, 0);
    world_free(&w);
}

/* A listener on `port` (IPv4, 10.0.2.15), its chain link at +0x78. */
static uint64_t listener(world *w, uint16_t port)
{
    uint64_t l = block(&w->m, "TcpL", 0x80);
    put64(&w->m, l + 0x28, w->inetaf4);
    put64(&w->m, l + 0x60, w->local4);
    put_be16(&w->m, l + 0x72, port);
    return l;
}

/* PortAssignments[hi] at `array` -> a new InPA -> a new list; returns the
 * list. */
static uint64_t assignment(world *w, uint64_t array, unsigned hi)
{
    uint64_t pa = block(&w->m, "InPA", 0x20), list = big(&w->m, 256 * 0x20);
    put64(&w->m, array + 8 * (uint64_t)hi, pa);
    put64(&w->m, pa + 0x18, list);
    return list;
}

static void chain_one(world *w, uint64_t list, unsigned lo, uint64_t link)
{
    put64(&w->m, list + (uint64_t)lo * 0x20 + 0x10, link | 1);
}

/* PortAssignments found after the pool's RTL_BITMAP (at +0xd8, where no
 * profile puts it); a decoy bitmap two pointers before an InPA pointer
 * at +0x98 is tried first and rejected because the listener its chain
 * leads to has another port than the chain stands for. */
static void test_find_assignments_bitmap(void **state)
{
    (void)state;
    world w;
    world_init_gaps(&w);
    uint64_t pool = big(&w.m, 0x3000);
    put32(&w.m, pool + 0xc8, 0x10000);
    put64(&w.m, pool + 0xd0, pool + 0x8e0);
    uint64_t list = assignment(&w, pool + 0xd8, 0);
    chain_one(&w, list, 0x87, listener(&w, 135) + 0x78);
    uint64_t list2 = assignment(&w, pool + 0xd8, 1);
    chain_one(&w, list2, 0xbd, listener(&w, 445) + 0x78);
    /* decoy: bitmap at +0x88, "assignments" at +0x98 */
    put32(&w.m, pool + 0x88, 0x10000);
    put64(&w.m, pool + 0x90, pool + 0x800);
    uint64_t dlist = assignment(&w, pool + 0x98, 0);
    chain_one(&w, dlist, 0x10, listener(&w, 135) + 0x78);
    world_open(&w);

    int64_t off = -1;
    char how[160];
    assert_int_equal(ms_vista_find_port_assignments(&w.ctx, pool, &off, how, sizeof how), MS_OK);
    assert_int_equal(off, 0xd8);
    assert_non_null(strstr(how, "after the RTL_BITMAP"));
    /* The walk searches by itself when the profile lacks the offset. */
    seen s = {0};
    size_t nl = 0, nu = 0;
    assert_int_equal(ms_vista_walk_port_pool(&w.ctx, pool, keep, &s, &nl, &nu), MS_OK);
    assert_int_equal(nl, 2);
    assert_non_null(by_port(&s, 135));
    assert_non_null(by_port(&s, 445));
    /* Hostile pools fail cleanly. */
    assert_int_equal(ms_vista_find_port_assignments(&w.ctx, 0x1000, &off, how, sizeof how), MS_ERR_FORMAT);
    uint64_t empty = pool + 0x2000; /* zeros */
    assert_int_equal(ms_vista_find_port_assignments(&w.ctx, empty, &off, how, sizeof how), MS_ERR_NOT_FOUND);
    world_free(&w);
}

/* No usable bitmap (its buffer is outside the pool): PortAssignments
 * found from its first InPA pointer.  PortAssignments[0] is empty, so the
 * first InPA pointer is entry 1 (+0xe8); taking +0xe8 as the array puts
 * the UDP endpoint of port 0x189 on chain 0x089: rejected, +0xe0 kept. */
static void test_find_assignments_inpa(void **state)
{
    (void)state;
    world w;
    world_init_gaps(&w);
    uint64_t pool = big(&w.m, 0x3000);
    put32(&w.m, pool + 0xd0, 0x10000);
    put64(&w.m, pool + 0xd8, KVA + 0x100); /* not in the pool */
    uint64_t list = assignment(&w, pool + 0xe0, 1);
    uint64_t u = block(&w.m, "UdpA", 0xb0);
    put64(&w.m, u + 0x20, w.inetaf4);
    put64(&w.m, u + 0xa8, w.local4);
    put_be16(&w.m, u + 0xa0, 0x0189);
    chain_one(&w, list, 0x89, u + 0x70);
    /* a pointer to a block with another tag before it: not an InPA */
    put64(&w.m, pool + 0x80, block(&w.m, "InPX", 0x20));
    world_open(&w);

    int64_t off = -1;
    char how[160];
    assert_int_equal(ms_vista_find_port_assignments(&w.ctx, pool, &off, how, sizeof how), MS_OK);
    assert_int_equal(off, 0xe0);
    assert_non_null(strstr(how, "InPA"));
    ms_vista_pool_count c;
    assert_int_equal(ms_vista_walk_port_pool_at(&w.ctx, pool, 0xe8, 0, NULL, NULL, &c), MS_OK);
    assert_int_equal(c.port_bad, 1);
    assert_int_equal(ms_vista_walk_port_pool_at(&w.ctx, pool, 0xe0, 0, NULL, NULL, &c), MS_OK);
    assert_int_equal(c.udp, 1);
    assert_int_equal(c.port_ok, 1);
    assert_int_equal(c.port_bad, 0);
    world_free(&w);
}

/* One partition: its first pointer to a TcHT block, Endpoints to a hash
 * table there; returns the table block. */
static uint64_t partition(world *w, uint64_t part)
{
    uint64_t tables = block(&w->m, "TcHT", 0x1c0);
    uint64_t dir = block(&w->m, "HTab", 128 * 16);
    for (int b = 0; b < 128; b++)
        list_init(w, dir + 16 * (uint64_t)b);
    hash_table(w, tables + 0x40, 128, dir);
    put64(&w->m, part, tables);
    put64(&w->m, part + 8, tables + 0x40);
    put64(&w->m, part + 0x10, tables + 0x100);
    return tables;
}

/* Three partitions 0x80 apart (the profile gives no size).  Decoys in the
 * first: a TcHT pointer at +0x20 (a stride of 0x20 would need one at +0x40
 * too) and one at +0x30 without a hash table after it. */
static void test_measure_partitions(void **state)
{
    (void)state;
    world w;
    world_init_gaps(&w);
    uint64_t table = block(&w.m, "TcPt", 3 * 0x80);
    uint64_t last = 0;
    for (int i = 0; i < 3; i++)
        last = partition(&w, table + 0x80 * (uint64_t)i);
    put64(&w.m, table + 0x20, block(&w.m, "TcHT", 0x40));
    put64(&w.m, table + 0x28, last + 0x40);
    put64(&w.m, table + 0x30, block(&w.m, "TcHT", 0x40));
    put64(&w.m, table + 0x38, 0x4141414141414141ull);
    uint64_t dir = 0, off = last + 0x40 + 0x20 - KVA; /* the last partition's Endpoints Directory */
    memcpy(&dir, w.m.b.mem + w.m.pa[off / 4096] + off % 4096, 8);
    list_append(&w, dir + 16 * 7, tcb(&w, 50777, "TcpE") + 0x28);
    /* a table whose first pointer leads to no TcHT block */
    uint64_t other = block(&w.m, "TcPt", 0x80);
    put64(&w.m, other, block(&w.m, "TcHx", 0x40));
    put64(&w.m, other + 8, last + 0x40);
    world_open(&w);

    uint32_t size = 0;
    assert_int_equal(ms_vista_measure_partition_size(&w.ctx, table, 3, &size), MS_OK);
    assert_int_equal(size, 0x80);
    w.ctx.L.part_size = size;
    seen s = {0};
    size_t found = 0;
    assert_int_equal(ms_vista_walk_partitions(&w.ctx, table, 3, keep, &s, &found), MS_OK);
    assert_int_equal(found, 1);
    assert_non_null(by_port(&s, 50777));
    /* One partition: any stride past its members reaches it. */
    assert_int_equal(ms_vista_measure_partition_size(&w.ctx, table, 1, &size), MS_OK);
    assert_int_equal(size, 0x18);
    /* Four would need one more at +0x180. */
    assert_int_equal(ms_vista_measure_partition_size(&w.ctx, table, 4, &size), MS_ERR_NOT_FOUND);
    assert_int_equal(ms_vista_measure_partition_size(&w.ctx, other, 1, &size), MS_ERR_NOT_FOUND);
    assert_int_equal(ms_vista_measure_partition_size(&w.ctx, table, 0, &size), MS_ERR_FORMAT);
    assert_int_equal(ms_vista_measure_partition_size(&w.ctx, 0x1000, 2, &size), MS_ERR_NOT_FOUND);
    world_free(&w);
}

/* A port chain holding a bound TCB (no remote address; its link at +0x78,
 * a place no layout names) before a listener: both are reported.  A chain
 * through a TCB that fails its checks stops there. */
static void test_port_pool_bound_tcb(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    uint64_t pool = big(&w.m, 0x3000);
    uint64_t list = assignment(&w, pool + 0xe0, 1);
    uint64_t ai = block(&w.m, "IPpa", 0x40);
    put64(&w.m, ai, w.local4);
    uint64_t e = block(&w.m, "TcpE", 0x300);
    put64(&w.m, e + 0x10, w.inetaf4);
    put64(&w.m, e + 0x18, ai);
    put32(&w.m, e + 0x6c, 0); /* CLOSED */
    put_be16(&w.m, e + 0x70, 391);
    uint64_t l = listener(&w, 391);
    chain_one(&w, list, 0x87, e + 0x78);
    put64(&w.m, e + 0x78, (l + 0x78) | 1);
    /* port 0x188: a TCB with a bad state, then a listener never reached */
    uint64_t bad = tcb(&w, 392, "TcpE"), hidden = listener(&w, 392);
    put32(&w.m, bad + 0x6c, 11);
    chain_one(&w, list, 0x88, bad + 0x78);
    put64(&w.m, bad + 0x78, (hidden + 0x78) | 1);
    /* port 0x189: a link into a block with a foreign tag */
    uint64_t junk = block(&w.m, "Junk", 0x100);
    chain_one(&w, list, 0x89, junk + 0x78);
    world_open(&w);

    seen s = {0};
    ms_vista_pool_count c;
    assert_int_equal(ms_vista_walk_port_pool_at(&w.ctx, pool, 0xe0, 0, keep, &s, &c), MS_OK);
    assert_int_equal(c.tcbs, 1);
    assert_int_equal(c.listeners, 1);
    assert_int_equal(s.n, 2);
    assert_int_equal(c.port_ok, 2);
    const ms_net_endpoint *t = &s.rows[0];
    assert_int_equal(t->kind, MS_NET_TCP_ENDPOINT);
    assert_int_equal(t->offset, e);
    assert_string_equal(t->state, "CLOSED");
    assert_string_equal(t->local_addr, "10.0.2.15");
    assert_string_equal(t->foreign_addr, "0.0.0.0");
    assert_int_equal(t->foreign_port, 0);
    assert_int_equal(s.rows[1].kind, MS_NET_TCP_LISTENER);
    assert_int_equal(s.rows[1].local_port, 391);
    world_free(&w);
}

/* TIME_WAIT with the remote address bytes inline and a CreateTime, from
 * profile lines (RemoteAddressInline) and from the built-in facts. */
static void test_timewait_inline(void **state)
{
    (void)state;
    static const char tw[] = "struct _TCP_TIMEWAIT_ENDPOINT 0xa0\n"
                             "field _TCP_TIMEWAIT_ENDPOINT ListEntry 0x0 0x10\n"
                             "field _TCP_TIMEWAIT_ENDPOINT InetAF 0x30 0x8\n"
                             "field _TCP_TIMEWAIT_ENDPOINT LocalPort 0x4a 0x2\n"
                             "field _TCP_TIMEWAIT_ENDPOINT RemotePort 0x4c 0x2\n"
                             "field _TCP_TIMEWAIT_ENDPOINT LocalAddr 0x50 0x8\n"
                             "field _TCP_TIMEWAIT_ENDPOINT RemoteAddressInline 0x58 0x10\n"
                             "field _TCP_TIMEWAIT_ENDPOINT CreateTime 0x98 0x8\n";
    char text[sizeof PROFILE + sizeof tw];
    snprintf(text, sizeof text, "%s%s", PROFILE, tw);
    world w;
    world_init(&w);
    ms_profile_destroy(w.prof);
    assert_int_equal(ms_profile_parse(text, strlen(text), "tw", &w.prof), MS_OK);
    assert_int_equal(ms_vista_layout_from_profile(w.prof, NULL, 19041, &w.ctx.L), MS_OK);
    const ms_vista_obj *o = &w.ctx.L.obj[MS_VK_TIMEWAIT];
    assert_true(o->present);
    assert_true(o->inline_remote);
    assert_int_equal(o->raddr, 0x58);
    assert_int_equal(o->ctime, 0x98);
    assert_int_equal(o->size, 0xa0);
    uint8_t buf[0xa0] = {0};
    memcpy(buf + 0x30, &w.inetaf4, 8);
    buf[0x4a] = 0xc3, buf[0x4b] = 0x50; /* 50000 */
    buf[0x4c] = 0x01, buf[0x4d] = 0xbb; /* 443 */
    memcpy(buf + 0x50, &w.local4, 8);
    memcpy(buf + 0x58, "\xac\xd9\x10\x8e", 4);
    uint64_t when = 0x01d6eb4e3c1a0000ull;
    memcpy(buf + 0x98, &when, 8);
    world_open(&w);
    ms_net_endpoint e;
    assert_int_equal(ms_vista_decode(&w.ctx, MS_VK_TIMEWAIT, buf, sizeof buf, &e), MS_OK);
    assert_string_equal(e.state, "TIME_WAIT");
    assert_string_equal(e.local_addr, "10.0.2.15");
    assert_int_equal(e.local_port, 50000);
    assert_string_equal(e.foreign_addr, "172.217.16.142");
    assert_int_equal(e.foreign_port, 443);
    assert_int_equal(e.created, when);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_from_profile), cmocka_unit_test(test_names),
        cmocka_unit_test(test_partition_walk),      cmocka_unit_test(test_two_level_directory),
        cmocka_unit_test(test_port_pool),           cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_find_assignments_bitmap), cmocka_unit_test(test_find_assignments_inpa),
        cmocka_unit_test(test_measure_partitions),  cmocka_unit_test(test_port_pool_bound_tcb),
        cmocka_unit_test(test_timewait_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
