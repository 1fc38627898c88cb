/* Partitions with their hash tables, port pools, and the endpoint objects
 * (TcpE, TcTW, TcSR, TcpL, UdpA) with their truth rows. */
#include <stdio.h>
#include <string.h>

#include "net_vista.h"

#define HT_BUCKETS 0x80u

/* ---------- hash tables ---------- */

static long ht_size(const nv_ctx *n)
{
    long s = ig_prof_struct_size(n->c->prof, "_RTL_DYNAMIC_HASH_TABLE");
    return s > 0 ? s : (n->P == 8 ? 0x28 : 0x24);
}

static long ht_field(const nv_ctx *n, const char *f, long x64, long x86)
{
    long o = ig_prof_field(n->c->prof, "_RTL_DYNAMIC_HASH_TABLE", f);
    return o >= 0 ? o : (n->P == 8 ? x64 : x86);
}

/* An empty table of 128 buckets whose Directory is an 'HTab' block. */
static ig_status ht_init(nv_ctx *n, uint64_t ht)
{
    ig_ctx *c = n->c;
    uint64_t dir;
    if (nv_alloc(n, "HTab", HT_BUCKETS * 2 * n->P, &dir) != IG_OK)
        return IG_ERR;
    for (unsigned b = 0; b < HT_BUCKETS; b++)
        if (ig_list_init(c, dir + b * 2 * n->P) != IG_OK)
            return IG_ERR;
    ig_status s = ig_w32(c, ht + (uint64_t)ht_field(n, "TableSize", 8, 8), HT_BUCKETS);
    s |= ig_w32(c, ht + (uint64_t)ht_field(n, "DivisorMask", 0x10, 0x10), HT_BUCKETS - 1);
    s |= ig_w32(c, ht + (uint64_t)ht_field(n, "Shift", 4, 4), 7);
    s |= nv_wptr(n, ht + (uint64_t)ht_field(n, "Directory", 0x20, 0x20), dir);
    return s == IG_OK ? IG_OK : IG_ERR;
}

static ig_status rd32(nv_ctx *n, uint64_t va, uint32_t *v)
{
    return ig_read(n->c, va, v, 4);
}

static ig_status rdptr(nv_ctx *n, uint64_t va, uint64_t *v)
{
    *v = 0;
    return ig_read(n->c, va, v, n->P);
}

/* InsertTailList into bucket (signature & DivisorMask); the entry is an
 * RTL_DYNAMIC_HASH_TABLE_ENTRY: Linkage, then Signature (not written when
 * the layout puts a member there: the x86 TIME_WAIT layouts of Vista and
 * 8+ have LocalPort right after an 8-byte ListEntry). */
static ig_status ht_insert(nv_ctx *n, uint64_t ht, uint64_t entry, uint32_t signature, int with_signature)
{
    ig_ctx *c = n->c;
    uint64_t dir;
    uint32_t num, nonempty;
    uint64_t o_num = (uint64_t)ht_field(n, "NumEntries", 0x14, 0x14);
    uint64_t o_ne = (uint64_t)ht_field(n, "NonEmptyBuckets", 0x18, 0x18);
    if (rdptr(n, ht + (uint64_t)ht_field(n, "Directory", 0x20, 0x20), &dir) != IG_OK ||
        rd32(n, ht + o_num, &num) != IG_OK || rd32(n, ht + o_ne, &nonempty) != IG_OK)
        return IG_ERR;
    uint64_t head = dir + (signature & (HT_BUCKETS - 1)) * 2 * n->P, first;
    if (rdptr(n, head, &first) != IG_OK)
        return IG_ERR;
    if (first == head)
        nonempty++;
    ig_status s = ig_list_append(c, head, entry);
    if (with_signature)
        s |= nv_wptr(n, entry + 2 * n->P, signature);
    s |= ig_w32(c, ht + o_num, num + 1);
    s |= ig_w32(c, ht + o_ne, nonempty);
    return s == IG_OK ? IG_OK : IG_ERR;
}

/* _PARTITION_TABLE ('TcPt', PartitionCount × sizeof(_PARTITION)); each
 * partition points into one 'TcHT' block (tcpip 19041.4780's
 * initialisation: +0 → block, +8 → block+0x40 (tables at +0x40, +0x68,
 * +0x90, +0xB8), +0x10 → block+0x100 (four more tables)).  Used here:
 * block+0x40 = Endpoints (TcpE), block+0x68 = SYN (TcSR), block+0x100 =
 * TIME_WAIT (TcTW); the last two placements are assumptions. */
ig_status nv_build_partitions(nv_ctx *n)
{
    long psize = ig_prof_struct_size(n->L, "_PARTITION");
    long o_ep = nv_need(n, "_PARTITION", "Endpoints"), o_unk = nv_need(n, "_PARTITION", "UnknownHashTable");
    if (psize <= 0 || o_ep < 0 || o_unk < 0)
        return ig_fail("tcpip layout %s has no usable _PARTITION", n->lname);
    if (nv_alloc(n, "TcPt", (size_t)psize * n->npart, &n->part_table) != IG_OK)
        return IG_ERR;
    uint64_t hs = (uint64_t)ht_size(n), g1 = 8 * n->P, g2 = 32 * n->P;
    for (unsigned i = 0; i < n->npart; i++) {
        uint64_t part = n->part_table + i * (uint64_t)psize, blk;
        if (nv_alloc(n, "TcHT", n->P == 8 ? 0x1C0 : (size_t)(g2 + 4 * hs), &blk) != IG_OK)
            return IG_ERR;
        ig_status s = nv_wptr(n, part, blk);
        s |= nv_wptr(n, part + (uint64_t)o_ep, blk + g1);
        s |= nv_wptr(n, part + (uint64_t)o_unk, blk + g2);
        s |= ig_w32(n->c, blk + 8, i);
        if (s != IG_OK)
            return IG_ERR;
        n->ht_est[i] = blk + g1;
        n->ht_syn[i] = blk + g1 + hs;
        n->ht_tw[i] = blk + g2;
        if (ht_init(n, n->ht_est[i]) != IG_OK || ht_init(n, n->ht_syn[i]) != IG_OK ||
            ht_init(n, n->ht_tw[i]) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

/* ---------- port pools ---------- */

static ig_status pool_create(nv_ctx *n, nv_pool *p)
{
    ig_ctx *c = n->c;
    long o_bm = nv_need(n, "_INET_PORT_POOL", "PortBitMap");
    long o_pa = nv_need(n, "_INET_PORT_POOL", "PortAssignments");
    if (o_bm < 0 || o_pa < 0)
        return IG_ERR;
    /* big-pool allocation: page aligned, no pool header */
    if (ig_kva_alloc(c, IG_VA_NPPOOL, 0x3000, &p->va) != IG_OK)
        return IG_ERR;
    p->bitmap = p->va + (((uint64_t)o_pa + 256 * n->P + 15) & ~15ull);
    long o_buf = ig_prof_field(c->prof, "_RTL_BITMAP", "Buffer");
    if (o_buf < 0)
        o_buf = n->P;
    ig_status s = ig_w32(c, p->va + (uint64_t)o_bm, 65536);
    s |= nv_wptr(n, p->va + (uint64_t)o_bm + (uint64_t)o_buf, p->bitmap);
    return s == IG_OK ? IG_OK : IG_ERR;
}

/* _INET_COMPARTMENT_SET ('InCS') → _INET_COMPARTMENT ('InCo') →
 * _PROTOCOL_COMPARTMENT ('TcCo'/'UdCo') → PortPool. */
static ig_status compartment(nv_ctx *n, const char tag[4], uint64_t pool, uint64_t *set)
{
    long o_ic = nv_need(n, "_INET_COMPARTMENT_SET", "InetCompartment");
    long o_pc = nv_need(n, "_INET_COMPARTMENT", "ProtocolCompartment");
    long o_pp = nv_need(n, "_PROTOCOL_COMPARTMENT", "PortPool");
    if (o_ic < 0 || o_pc < 0 || o_pp < 0)
        return IG_ERR;
    long ss = ig_prof_struct_size(n->L, "_INET_COMPARTMENT_SET");
    long cs = ig_prof_struct_size(n->L, "_INET_COMPARTMENT");
    uint64_t co, pc;
    if (nv_alloc(n, "InCS", (size_t)(ss > o_ic ? ss : o_ic + 8), set) != IG_OK ||
        nv_alloc(n, "InCo", (size_t)(cs > o_pc ? cs : o_pc + 8), &co) != IG_OK ||
        nv_alloc(n, tag, 0x10 + (size_t)o_pp, &pc) != IG_OK)
        return IG_ERR;
    ig_status s = nv_wptr(n, *set + (uint64_t)o_ic, co);
    s |= nv_wptr(n, co + (uint64_t)o_pc, pc);
    s |= nv_wptr(n, pc + (uint64_t)o_pp, pool);
    s |= ig_w32(n->c, co, 1); /* CompartmentId */
    return s == IG_OK ? IG_OK : IG_ERR;
}

ig_status nv_build_port_pools(nv_ctx *n)
{
    if (pool_create(n, &n->tcp) != IG_OK || pool_create(n, &n->udp) != IG_OK)
        return IG_ERR;
    if (!n->have_tcp_udp)
        return IG_OK;
    uint64_t tv = n->tcp.va, uv = n->udp.va;
    if (n->compartments && (compartment(n, "TcCo", n->tcp.va, &tv) != IG_OK ||
                            compartment(n, "UdCo", n->udp.va, &uv) != IG_OK))
        return IG_ERR;
    uint64_t b = n->m->base;
    if (ig_ensure_mapped(n->c, b + n->rva_tcp, n->P, IG_MAP_NX) != IG_OK ||
        ig_ensure_mapped(n->c, b + n->rva_udp, n->P, IG_MAP_NX) != IG_OK)
        return IG_ERR;
    if (nv_wptr(n, b + n->rva_tcp, tv) != IG_OK || nv_wptr(n, b + n->rva_udp, uv) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

/* Address of PortAssignments[port >> 8] → 'InPA' → InPaBigPoolBase →
 * Assignments[port & 0xff].Entry, created on first use. */
static ig_status port_entry(nv_ctx *n, nv_pool *p, unsigned port, uint64_t *entry)
{
    ig_ctx *c = n->c;
    uint32_t hi = port >> 8;
    int k = 0;
    while (k < p->nhi && p->hi[k] != hi)
        k++;
    long esz = ig_prof_struct_size(n->L, "_PORT_ASSIGNMENT_ENTRY");
    long o_e = nv_need(n, "_PORT_ASSIGNMENT_ENTRY", "Entry");
    if (esz <= 0 || o_e < 0)
        return ig_fail("tcpip layout %s has no usable _PORT_ASSIGNMENT_ENTRY", n->lname);
    if (k == p->nhi) {
        if (p->nhi == NV_MAX_HI)
            return ig_fail("too many port ranges");
        long o_base = nv_need(n, "_PORT_ASSIGNMENT", "InPaBigPoolBase");
        long pasz = ig_prof_struct_size(n->L, "_PORT_ASSIGNMENT");
        if (o_base < 0)
            return IG_ERR;
        uint64_t pa, list;
        if (nv_alloc(n, "InPA", (size_t)(pasz > o_base ? pasz : o_base + 8), &pa) != IG_OK ||
            ig_kva_alloc(c, IG_VA_NPPOOL, ((size_t)esz * 256 + IG_PAGE - 1) & ~(size_t)(IG_PAGE - 1), &list) != IG_OK)
            return IG_ERR;
        long o_pa = nv_off(n, "_INET_PORT_POOL", "PortAssignments");
        if (nv_wptr(n, pa + (uint64_t)o_base, list) != IG_OK ||
            nv_wptr(n, p->va + (uint64_t)o_pa + hi * n->P, pa) != IG_OK)
            return IG_ERR;
        p->hi[k] = hi;
        p->list[k] = list;
        p->nhi++;
    }
    *entry = p->list[k] + (port & 0xff) * (uint64_t)esz + (uint64_t)o_e;
    return IG_OK;
}

/* Append an object (its `Next` field at next_va) to the port's chain and
 * set the port's bit.  Entry and Next are tagged pointers (low bit set). */
static ig_status port_add(nv_ctx *n, nv_pool *p, unsigned port, uint64_t next_va)
{
    uint64_t link = 0, v;
    if (port_entry(n, p, port, &link) != IG_OK)
        return IG_ERR;
    for (int guard = 0; guard < 64; guard++) {
        if (rdptr(n, link, &v) != IG_OK)
            return IG_ERR;
        if (v == 0)
            break;
        link = v & ~(uint64_t)3;
    }
    uint8_t bits;
    uint64_t byte = p->bitmap + port / 8;
    if (nv_wptr(n, link, next_va | 1) != IG_OK || ig_read(n->c, byte, &bits, 1) != IG_OK)
        return IG_ERR;
    return ig_w8(n->c, byte, (uint8_t)(bits | (1u << (port % 8))));
}

/* ---------- shared address objects ---------- */

static ig_status make_inetaf(nv_ctx *n)
{
    long o_af = nv_need(n, "_INETAF", "AddressFamily");
    if (o_af < 0)
        return IG_ERR;
    for (int v6 = 0; v6 < 2; v6++) {
        if (nv_alloc(n, "InNl", (size_t)o_af + 8, &n->inetaf[v6]) != IG_OK ||
            ig_w16(n->c, n->inetaf[v6] + (uint64_t)o_af, v6 ? 23 : 2) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

/* A local address shared by every object bound to it: _LOCAL_ADDRESS X
 * with pData → Q, *Q → the address bytes at Q+0x28.  X+0 also points at the
 * bytes (Win10 x64 UDP reads LocalAddr→pData@0→_IN_ADDR) and, on x64,
 * X+0x18 → Q+0x10 (MemProcFS's Win10 UDP path: [X+0x18]+0x18). */
static ig_status local_addr(nv_ctx *n, int v6, const uint8_t addr[16], uint64_t *out)
{
    for (int i = 0; i < n->nlocal; i++)
        if (n->local[i].v6 == v6 && memcmp(n->local[i].addr, addr, 16) == 0) {
            *out = n->local[i].va;
            return IG_OK;
        }
    if (n->nlocal == NV_MAX_LOCAL)
        return ig_fail("too many local addresses");
    long o_pd = nv_need(n, "_LOCAL_ADDRESS", "pData");
    if (o_pd < 0)
        return IG_ERR;
    uint64_t x;
    if (nv_alloc(n, "IPla", 0x20 + 0x28 + 16, &x) != IG_OK)
        return IG_ERR;
    uint64_t q = x + 0x20;
    ig_status s = nv_wptr(n, x, q + 0x28);
    s |= nv_wptr(n, x + (uint64_t)o_pd, q);
    if (n->P == 8 && o_pd != 0x18)
        s |= nv_wptr(n, x + 0x18, q + 0x10);
    s |= nv_wptr(n, q, q + 0x28);
    s |= ig_write(n->c, q + 0x28, addr, v6 ? 16 : 4);
    if (s != IG_OK)
        return IG_ERR;
    nv_local *l = &n->local[n->nlocal++];
    l->v6 = v6;
    memcpy(l->addr, addr, 16);
    l->va = x;
    *out = x;
    return IG_OK;
}

/* ---------- the connection set ---------- */

enum { S_CLOSED = 0, S_LISTEN, S_SYN_SENT, S_SYN_RCVD, S_ESTAB, S_FIN1, S_FIN2, S_CLOSE_WAIT, S_CLOSING,
       S_LAST_ACK, S_TIME_WAIT = 12 };
static const char *const state_names[] = {"CLOSED", "LISTENING", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
                                          "FIN_WAIT1", "FIN_WAIT2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
                                          "", "", "TIME_WAIT"};

typedef enum { K_TCPE, K_TW, K_SYN, K_TCPL, K_UDP } kind;
/* W_BOUND: a TCB bound to its port but not connected, on the port pool's
 * chain instead of in a partition (MemProcFS meets such TcpE there). */
typedef enum { W_LINKED, W_FREED, W_ABSENT, W_BOUND } where;

typedef struct conn {
    kind k;
    int state;
    const char *local, *remote;  /* NULL = wildcard */
    int v6;
    unsigned lport, rport;       /* lport 0 = ephemeral from the seed */
    const char *owner;           /* process image name; "*exited*" = the exited process; NULL = none */
    int nth;                     /* which process of that name */
    int partition, bucket;       /* -1 = from the hash */
    where w;
} conn;

static const conn conns[] = {
    /* established TCBs; the first three share one bucket, the next two another */
    {K_TCPE, S_ESTAB, "10.0.2.15", "52.113.194.132", 0, 0, 443, "svchost.exe", 0, 0, 5, W_LINKED},
    {K_TCPE, S_ESTAB, "10.0.2.15", "140.82.121.4", 0, 0, 443, "explorer.exe", 0, 0, 5, W_LINKED},
    {K_TCPE, S_CLOSE_WAIT, "10.0.2.15", "23.45.67.89", 0, 0, 80, "*long*", 0, 0, 5, W_LINKED},
    {K_TCPE, S_ESTAB, "2001:db8:1::15", "2606:4700::6810:84e5", 1, 0, 443, "svchost.exe", 1, 1, 17, W_LINKED},
    {K_TCPE, S_SYN_SENT, "10.0.2.15", "198.51.100.7", 0, 0, 8080, "explorer.exe", 0, 1, 17, W_LINKED},
    {K_TCPE, S_FIN2, "10.0.2.15", "93.184.216.34", 0, 0, 443, "*exited*", 0, -1, -1, W_LINKED},
    {K_TCPE, S_LAST_ACK, "10.0.2.15", "13.107.4.50", 0, 0, 80, "svchost.exe", 2, -1, -1, W_LINKED},
    {K_TCPE, S_ESTAB, "127.0.0.1", "127.0.0.1", 0, 49670, 5354, "lsass.exe", 0, -1, -1, W_LINKED},
    {K_TCPE, S_CLOSED, "::1", "::1", 1, 0, 5357, "svchost.exe", 3, -1, -1, W_LINKED},
    {K_TCPE, S_FIN1, "10.0.2.15", "8.8.8.8", 0, 0, 853, "spoolsv.exe", 0, -1, -1, W_LINKED},
    {K_TCPE, S_CLOSING, "fe80::5efe:a00:20f", "fe80::1", 1, 0, 445, "System", 0, -1, -1, W_LINKED},
    {K_TCPE, S_ESTAB, "10.0.2.15", "20.42.65.92", 0, 0, 443, "svchost.exe", 4, 2, 99, W_ABSENT},
    /* TIME_WAIT and SYN_RCVD objects in their own tables */
    {K_TW, S_TIME_WAIT, "10.0.2.15", "172.217.16.142", 0, 0, 443, NULL, 0, 0, 33, W_LINKED},
    {K_TW, S_TIME_WAIT, "10.0.2.15", "151.101.1.69", 0, 0, 443, NULL, 0, 0, 33, W_LINKED},
    {K_TW, S_TIME_WAIT, "2001:db8:1::15", "2a00:1450:4001:80b::200e", 1, 0, 80, NULL, 0, 1, 40, W_LINKED},
    {K_SYN, S_SYN_RCVD, "10.0.2.15", "203.0.113.50", 0, 445, 50123, "System", 0, -1, -1, W_LINKED},
    /* bound, not connected: first on port 135's chain, before the listeners */
    {K_TCPE, S_CLOSED, "10.0.2.15", NULL, 0, 135, 0, "explorer.exe", 0, -1, -1, W_BOUND},
    /* listeners: dual-stack pairs on 135, 445, 49664; specific addresses */
    {K_TCPL, S_LISTEN, NULL, NULL, 0, 135, 0, "svchost.exe", 1, 0, 0, W_LINKED},
    {K_TCPL, S_LISTEN, NULL, NULL, 1, 135, 0, "svchost.exe", 1, 0, 0, W_LINKED},
    {K_TCPL, S_LISTEN, NULL, NULL, 0, 445, 0, "System", 0, 0, 0, W_LINKED},
    {K_TCPL, S_LISTEN, NULL, NULL, 1, 445, 0, "System", 0, 0, 0, W_LINKED},
    {K_TCPL, S_LISTEN, "10.0.2.15", NULL, 0, 139, 0, "System", 0, 0, 0, W_LINKED},
    {K_TCPL, S_LISTEN, NULL, NULL, 0, 49664, 0, "lsass.exe", 0, 0, 0, W_LINKED},
    {K_TCPL, S_LISTEN, NULL, NULL, 1, 49664, 0, "lsass.exe", 0, 0, 0, W_LINKED},
    {K_TCPL, S_LISTEN, "2001:db8:1::15", NULL, 1, 5357, 0, "System", 0, 0, 0, W_LINKED},
    {K_TCPL, S_LISTEN, "127.0.0.1", NULL, 0, 49665, 0, "wininit.exe", 0, 0, 0, W_LINKED},
    /* UDP */
    {K_UDP, 0, NULL, NULL, 0, 123, 0, "svchost.exe", 2, 0, 0, W_LINKED},
    {K_UDP, 0, NULL, NULL, 1, 123, 0, "svchost.exe", 2, 0, 0, W_LINKED},
    {K_UDP, 0, "10.0.2.15", NULL, 0, 137, 0, "System", 0, 0, 0, W_LINKED},
    {K_UDP, 0, "10.0.2.15", NULL, 0, 138, 0, "System", 0, 0, 0, W_LINKED},
    {K_UDP, 0, NULL, NULL, 0, 5353, 0, "svchost.exe", 3, 0, 0, W_LINKED},
    {K_UDP, 0, "::1", NULL, 1, 1900, 0, "svchost.exe", 3, 0, 0, W_LINKED},
    {K_UDP, 0, "127.0.0.1", NULL, 0, 54321, 0, "explorer.exe", 0, 0, 0, W_LINKED},
    /* closed: blocks freed, content left */
    {K_TCPE, S_CLOSED, "10.0.2.15", "204.79.197.200", 0, 0, 443, "explorer.exe", 0, -1, -1, W_FREED},
    {K_UDP, 0, NULL, NULL, 0, 50001, 0, "*long*", 0, 0, 0, W_FREED},
    {K_TCPL, S_LISTEN, NULL, NULL, 0, 8080, 0, "*exited*", 0, 0, 0, W_FREED},
};

static int parse_addr(const char *s, int v6, uint8_t out[16])
{
    memset(out, 0, 16);
    if (s == NULL)
        return 1;
    if (!v6) {
        unsigned a, b, c, d;
        if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
            return 0;
        out[0] = (uint8_t)a, out[1] = (uint8_t)b, out[2] = (uint8_t)c, out[3] = (uint8_t)d;
        return 1;
    }
    /* IPv6 with at most one "::" */
    uint16_t head[8], tail[8];
    int nh = 0, nt = 0, in_tail = 0;
    const char *p = s;
    while (*p) {
        if (p[0] == ':' && p[1] == ':') {
            in_tail = 1;
            p += 2;
            continue;
        }
        if (*p == ':') {
            p++;
            continue;
        }
        unsigned v;
        int used;
        if (sscanf(p, "%x%n", &v, &used) != 1 || v > 0xFFFF)
            return 0;
        if (in_tail ? nt == 8 : nh == 8)
            return 0;
        if (in_tail)
            tail[nt++] = (uint16_t)v;
        else
            head[nh++] = (uint16_t)v;
        p += used;
    }
    for (int i = 0; i < nh; i++)
        out[2 * i] = (uint8_t)(head[i] >> 8), out[2 * i + 1] = (uint8_t)head[i];
    for (int i = 0; i < nt; i++)
        out[16 - 2 * (nt - i)] = (uint8_t)(tail[i] >> 8), out[17 - 2 * (nt - i)] = (uint8_t)tail[i];
    return 1;
}

static const ig_proc_truth *find_owner(nv_ctx *n, const char *name, int nth)
{
    ig_ctx *c = n->c;
    if (name == NULL)
        return NULL;
    const ig_proc_truth *any = NULL;
    for (int i = 0; i < c->nprocs; i++) {
        const ig_proc_truth *p = &c->procs[i];
        int hit = strcmp(name, "*exited*") == 0 ? p->exit_time != 0
                  : strcmp(name, "*long*") == 0 ? strncmp(p->name, "MicrosoftEdgeU", 14) == 0 ||
                                                      strncmp(p->name, "GoogleUpdate", 12) == 0
                                                 : strcmp(p->name, name) == 0;
        if (!hit || (p->exit_time != 0 && strcmp(name, "*exited*") != 0))
            continue;
        if (nth-- == 0)
            return p;
        any = p;
    }
    if (any == NULL)
        for (int i = 0; i < c->nprocs && any == NULL; i++)
            if (c->procs[i].exit_time == 0 && c->procs[i].pid > 4)
                any = &c->procs[i];
    return any;
}

static uint64_t created_time(nv_ctx *n, const ig_proc_truth *p)
{
    ig_ctx *c = n->c;
    uint64_t lo = p && p->create_time > c->boot_time ? p->create_time : c->boot_time;
    uint64_t hi = p && p->exit_time ? p->exit_time : c->system_time;
    if (hi <= lo + 20000000)
        return lo;
    return lo + ig_rng_range(&c->rng, 10000000, hi - lo - 10000000);
}

typedef struct tw_layout {
    long list, af, lport, rport, laddr, raddr, size, owner, syn_proc;
    int inline_remote;
    long ctime;
} tw_layout;

/* TIME_WAIT / SYN layouts from the tcpip profile; for builds whose
 * published layouts have none (Win10+), assumed: TIME_WAIT from
 * MemProcFS's 'TcTW' offsets (link at 0, remote address inline), SYN from
 * the 8.1 x64 layout (tcpip 19041.4780 allocates 0x68-byte 'TcSR' objects,
 * the size of 8.1's _TCP_SYN_ENDPOINT). */
static void special_layout(nv_ctx *n, int syn, tw_layout *l)
{
    const char *st = syn ? "_TCP_SYN_ENDPOINT" : "_TCP_TIMEWAIT_ENDPOINT";
    memset(l, 0, sizeof *l);
    l->list = nv_off(n, st, "ListEntry");
    l->owner = -1;
    if (l->list >= 0) {
        l->af = nv_off(n, st, "InetAF");
        l->lport = nv_off(n, st, "LocalPort");
        l->rport = nv_off(n, st, "RemotePort");
        l->laddr = nv_off(n, st, "LocalAddr");
        l->raddr = nv_off(n, st, "RemoteAddress");
        if (l->raddr < 0 && (l->raddr = nv_off(n, st, "RemoteAddressInline")) >= 0)
            l->inline_remote = 1;
        l->ctime = nv_off(n, st, "CreateTime");
        l->owner = syn ? nv_off(n, st, "Owner") : -1;
        l->syn_proc = ig_prof_field(n->L, "_SYN_OWNER", "Process");
        l->size = nv_body_size(n, st, l->inline_remote ? l->raddr + 16 : 0);
        return;
    }
    if (syn) {
        *l = (tw_layout){0x10, 0x30, 0x64, 0x66, 0x38, 0x50, 0x68, 0x40, 0x28, 0, -1};
    } else {
        *l = (tw_layout){0x0, 0x30, 0x4a, 0x4c, 0x50, 0x58, 0xa0, -1, 0, 1, 0x98};
    }
}

static ig_status be16(nv_ctx *n, uint64_t va, unsigned port)
{
    return ig_w16(n->c, va, (uint16_t)(((port & 0xff) << 8) | ((port >> 8) & 0xff)));
}

typedef struct built { uint64_t obj; const ig_proc_truth *owner; uint64_t created; const char *tag; } built;

static ig_status build_tcpe(nv_ctx *n, const conn *k, unsigned lport, const uint8_t *la, const uint8_t *ra,
                            built *b)
{
    ig_ctx *c = n->c;
    const char *T = "_TCP_ENDPOINT";
    long o_af = nv_need(n, T, "InetAF"), o_ai = nv_need(n, T, "AddrInfo"), o_st = nv_need(n, T, "State");
    long o_lp = nv_need(n, T, "LocalPort"), o_rp = nv_need(n, T, "RemotePort"), o_ow = nv_need(n, T, "Owner");
    long o_ct = nv_off(n, T, "CreateTime");
    long o_loc = nv_need(n, "_ADDRINFO", "Local"), o_rem = nv_need(n, "_ADDRINFO", "Remote");
    if (o_af < 0 || o_ai < 0 || o_st < 0 || o_lp < 0 || o_rp < 0 || o_ow < 0 || o_loc < 0 || o_rem < 0)
        return IG_ERR;
    uint64_t x, ai;
    if (local_addr(n, k->v6, la, &x) != IG_OK || nv_alloc(n, "IPpa", 0x40 + 16, &ai) != IG_OK)
        return IG_ERR;
    if (k->w == W_ABSENT && ig_pool_flush(c) != IG_OK)
        return IG_ERR;
    b->tag = "TcpE";
    if (nv_alloc(n, "TcpE", (size_t)nv_body_size(n, T, 0) + 0x10, &b->obj) != IG_OK)
        return IG_ERR;
    if (k->w == W_ABSENT) {
        uint64_t pa;
        if (ig_pool_flush(c) != IG_OK || ig_v2p(c, b->obj, &pa) != IG_OK)
            return IG_ERR;
        c->nodump[pa / IG_PAGE / 8] |= (uint8_t)(1u << (pa / IG_PAGE % 8));
    }
    uint64_t o = b->obj;
    ig_status s = nv_wptr(n, ai + (uint64_t)o_loc, x);
    if (k->remote) {
        s |= nv_wptr(n, ai + (uint64_t)o_rem, ai + 0x40);
        s |= ig_write(c, ai + 0x40, ra, k->v6 ? 16 : 4);
    }
    s |= nv_wptr(n, o + (uint64_t)o_af, n->inetaf[k->v6]);
    s |= nv_wptr(n, o + (uint64_t)o_ai, ai);
    s |= ig_w32(c, o + (uint64_t)o_st, (uint32_t)k->state);
    s |= be16(n, o + (uint64_t)o_lp, lport);
    s |= be16(n, o + (uint64_t)o_rp, k->rport);
    if (b->owner)
        s |= nv_wptr(n, o + (uint64_t)o_ow, b->owner->eprocess);
    if (o_ct >= 0)
        s |= ig_w64(c, o + (uint64_t)o_ct, b->created);
    else
        b->created = 0;
    return s == IG_OK ? IG_OK : IG_ERR;
}

static ig_status build_special(nv_ctx *n, const conn *k, unsigned lport, const uint8_t *la, const uint8_t *ra,
                               built *b)
{
    ig_ctx *c = n->c;
    int syn = k->k == K_SYN;
    tw_layout l;
    special_layout(n, syn, &l);
    uint64_t x, ra_va;
    if (local_addr(n, k->v6, la, &x) != IG_OK)
        return IG_ERR;
    b->tag = syn ? "TcSR" : "TcTW";
    if (nv_alloc(n, b->tag, (size_t)l.size, &b->obj) != IG_OK)
        return IG_ERR;
    uint64_t o = b->obj;
    ig_status s = nv_wptr(n, o + (uint64_t)l.af, n->inetaf[k->v6]);
    s |= be16(n, o + (uint64_t)l.lport, lport);
    s |= be16(n, o + (uint64_t)l.rport, k->rport);
    s |= nv_wptr(n, o + (uint64_t)l.laddr, x);
    if (l.inline_remote) {
        s |= ig_write(c, o + (uint64_t)l.raddr, ra, k->v6 ? 16 : 4);
    } else {
        if (nv_alloc(n, "IPra", 16, &ra_va) != IG_OK)
            return IG_ERR;
        s |= ig_write(c, ra_va, ra, k->v6 ? 16 : 4);
        s |= nv_wptr(n, o + (uint64_t)l.raddr, ra_va);
    }
    if (syn && l.owner >= 0 && b->owner) {
        uint64_t so;
        long proc = l.syn_proc >= 0 ? l.syn_proc : 0x28;
        if (nv_alloc(n, "TcSO", (size_t)proc + 8, &so) != IG_OK)
            return IG_ERR;
        s |= nv_wptr(n, so + (uint64_t)proc, b->owner->eprocess);
        s |= nv_wptr(n, o + (uint64_t)l.owner, so);
    }
    if (l.ctime >= 0)
        s |= ig_w64(c, o + (uint64_t)l.ctime, b->created);
    else
        b->created = 0;
    return s == IG_OK ? IG_OK : IG_ERR;
}

static ig_status build_sock(nv_ctx *n, const conn *k, const uint8_t *la, built *b)
{
    ig_ctx *c = n->c;
    int udp = k->k == K_UDP;
    const char *T = udp ? "_UDP_ENDPOINT" : "_TCP_LISTENER";
    long o_af = nv_need(n, T, "InetAF"), o_ow = nv_need(n, T, "Owner"), o_la = nv_need(n, T, "LocalAddr");
    long o_p = nv_need(n, T, "Port"), o_nx = nv_need(n, T, "Next"), o_ct = nv_off(n, T, "CreateTime");
    if (o_af < 0 || o_ow < 0 || o_la < 0 || o_p < 0 || o_nx < 0)
        return IG_ERR;
    uint64_t x = 0;
    if (k->local && local_addr(n, k->v6, la, &x) != IG_OK)
        return IG_ERR;
    b->tag = udp ? "UdpA" : "TcpL";
    if (nv_alloc(n, b->tag, (size_t)nv_body_size(n, T, 0), &b->obj) != IG_OK)
        return IG_ERR;
    uint64_t o = b->obj;
    ig_status s = nv_wptr(n, o + (uint64_t)o_af, n->inetaf[k->v6]);
    if (b->owner)
        s |= nv_wptr(n, o + (uint64_t)o_ow, b->owner->eprocess);
    s |= nv_wptr(n, o + (uint64_t)o_la, x);
    s |= be16(n, o + (uint64_t)o_p, k->lport);
    if (o_ct >= 0)
        s |= ig_w64(c, o + (uint64_t)o_ct, b->created);
    else
        b->created = 0;
    if (s == IG_OK && k->w == W_LINKED)
        s = port_add(n, udp ? &n->udp : &n->tcp, k->lport, o + (uint64_t)o_nx);
    return s == IG_OK ? IG_OK : IG_ERR;
}

static ig_status link_tcb(nv_ctx *n, const conn *k, const built *b, unsigned lport)
{
    uint32_t sig = (uint32_t)ig_mix64(((uint64_t)lport << 16) ^ k->rport ^ b->obj);
    unsigned part = k->partition >= 0 ? (unsigned)k->partition % n->npart : sig % n->npart;
    if (k->bucket >= 0)
        sig = (sig & ~(HT_BUCKETS - 1)) | (uint32_t)k->bucket;
    if (k->k == K_TCPE)
        return ht_insert(n, n->ht_est[part], b->obj + (uint64_t)nv_off(n, "_TCP_ENDPOINT", "ListEntry"), sig, 1);
    tw_layout l;
    special_layout(n, k->k == K_SYN, &l);
    long lo = l.list + 2 * (long)n->P, hi = lo + (long)n->P;
    const long members[] = {l.af, l.lport, l.rport, l.laddr, l.raddr, l.owner, l.ctime};
    int room = 1;
    for (size_t i = 0; i < sizeof members / sizeof *members; i++)
        room &= members[i] < lo || members[i] >= hi;
    return ht_insert(n, k->k == K_SYN ? n->ht_syn[part] : n->ht_tw[part], b->obj + (uint64_t)l.list, sig, room);
}

/* A bound TCB on its port's chain.  Its link's place is not published:
 * the first pointer-aligned slot after the ports (19041 x64: 0x78). */
static ig_status bind_tcb(nv_ctx *n, const built *b, unsigned lport)
{
    long lp = nv_off(n, "_TCP_ENDPOINT", "LocalPort"), rp = nv_off(n, "_TCP_ENDPOINT", "RemotePort");
    long end = (lp > rp ? lp : rp) + 2;
    uint64_t link = ((uint64_t)end + n->P - 1) & ~(uint64_t)(n->P - 1);
    return port_add(n, &n->tcp, lport, b->obj + link);
}

static ig_status truth_row(nv_ctx *n, const conn *k, const built *b, unsigned lport)
{
    char proto[8], laddr[64], faddr[64];
    int tcp = k->k != K_UDP;
    snprintf(proto, sizeof proto, "%s%s", tcp ? "TCP" : "UDP", k->v6 ? "v6" : "v4");
    snprintf(laddr, sizeof laddr, "%s", k->local ? k->local : k->v6 ? "::" : "0.0.0.0");
    if (k->k == K_UDP)
        snprintf(faddr, sizeof faddr, "*");
    else if (k->k == K_TCPL)
        snprintf(faddr, sizeof faddr, "%s", k->v6 ? "::" : "0.0.0.0");
    else
        snprintf(faddr, sizeof faddr, "%s", k->remote ? k->remote : k->v6 ? "::" : "0.0.0.0");
    const char *state = k->k == K_UDP ? "" : state_names[k->state];
    unsigned fport = k->k == K_UDP || k->k == K_TCPL ? 0 : k->rport;
    return nv_truth(n, proto, laddr, lport, faddr, fport, state, b->owner, b->created, b->obj, b->tag,
                    k->w != W_FREED, 1);
}

/* Tag strings where no valid block is: a too-small 'TcpE' block, a fake
 * header whose block would cross the page end, tags inside other data. */
static ig_status decoys(nv_ctx *n)
{
    ig_ctx *c = n->c;
    uint8_t junk[0x100];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)ig_rng_next(&c->rng);
    uint64_t small, holder;
    if (nv_alloc(n, "TcpE", 0x40, &small) != IG_OK || ig_write(c, small, junk, 0x40) != IG_OK)
        return IG_ERR;
    if (ig_pool_flush(c) != IG_OK || ig_pool_noise(c, IG_POOL_NONPAGED, 3) != IG_OK)
        return IG_ERR;
    if (ig_pool_alloc(c, IG_POOL_NONPAGED, "Even", 0x100, &holder, NULL) != IG_OK)
        return IG_ERR;
    memcpy(junk + 0x13, "TcpLUdpATcpE", 12);
    if (ig_write(c, holder, junk, sizeof junk) != IG_OK)
        return IG_ERR;
    /* a header claiming 0x400 bytes (BlockSize 0x40 units) at the page's last 0x100 bytes */
    if (ig_pool_flush(c) != IG_OK)
        return IG_ERR;
    uint64_t fill, hdr;
    size_t hs = ig_pool_header_size(c);
    if (ig_pool_alloc(c, IG_POOL_NONPAGED, "Vad ", IG_PAGE - 2 * hs - 0x100, &fill, &hdr) != IG_OK)
        return IG_ERR;
    uint64_t fake = (hdr & ~(uint64_t)(IG_PAGE - 1)) + IG_PAGE - 0x100;
    uint8_t h[16] = {0};
    if (c->ptr == 8) {
        h[2] = 0x40;
        h[3] = 2;
    } else {
        uint32_t w = (0x40u << 16) | (2u << 25);
        memcpy(h, &w, 4);
    }
    memcpy(h + 4, "TcpE", 4);
    if (ig_write(c, fake, h, hs) != IG_OK || ig_write(c, fake + hs, junk, 0x100 - hs) != IG_OK)
        return IG_ERR;
    return ig_pool_flush(c);
}

ig_status nv_build_objects(nv_ctx *n)
{
    ig_ctx *c = n->c;
    if (make_inetaf(n) != IG_OK)
        return IG_ERR;
    unsigned eph = 49700 + (unsigned)ig_rng_range(&c->rng, 0, 3000);
    for (size_t i = 0; i < sizeof conns / sizeof *conns; i++) {
        const conn *k = &conns[i];
        uint8_t la[16], ra[16];
        if (!parse_addr(k->local, k->v6, la) || !parse_addr(k->remote, k->v6, ra))
            return ig_fail("bad address in connection table entry %zu", i);
        unsigned lport = k->lport ? k->lport : eph + 7 * (unsigned)i;
        built b = {0};
        b.owner = find_owner(n, k->owner, k->nth);
        b.created = created_time(n, b.owner);
        ig_status s;
        if (k->k == K_TCPE)
            s = build_tcpe(n, k, lport, la, ra, &b);
        else if (k->k == K_TW || k->k == K_SYN)
            s = build_special(n, k, lport, la, ra, &b);
        else
            s = build_sock(n, k, la, &b);
        if (s != IG_OK)
            return IG_ERR;
        if (k->w == W_FREED)
            s = nv_mark_free(n, b.obj);
        else if (k->w == W_BOUND)
            s = bind_tcb(n, &b, lport);
        else if (k->k != K_TCPL && k->k != K_UDP)
            s = link_tcb(n, k, &b, lport);
        if (s != IG_OK || truth_row(n, k, &b, lport) != IG_OK)
            return IG_ERR;
        if (i % 5 == 4 && ig_pool_noise(c, IG_POOL_NONPAGED, 2) != IG_OK)
            return IG_ERR;
    }
    return decoys(n);
}
