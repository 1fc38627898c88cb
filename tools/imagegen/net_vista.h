/* Vista and later tcpip.sys structures (net_vista*.c): partitions with
 * their hash tables, port pools, endpoints, listeners, and the code that
 * uses the partition globals.  See README.md, "Network (Vista+)". */
#ifndef IG_NET_VISTA_H
#define IG_NET_VISTA_H

#include "ig.h"

/* --tcpip FILE: a real tcpip.sys mapped as the tcpip module (NULL = none). */
extern const char *ig_nv_tcpip_file;
/* Set by main when the output is a bitmap dump (pages marked nodump are absent). */
extern int ig_nv_bitmap_dump;

#define NV_MAX_PART 8
#define NV_MAX_LOCAL 16
#define NV_MAX_HI 8

typedef struct nv_pool {     /* one _INET_PORT_POOL */
    uint64_t va, bitmap;
    int nhi;
    uint32_t hi[NV_MAX_HI];  /* port >> 8 values with an assignment list */
    uint64_t list[NV_MAX_HI];
} nv_pool;

typedef struct nv_local { int v6; uint8_t addr[16]; uint64_t va; } nv_local;

typedef struct nv_ctx {
    ig_ctx *c;
    ig_prof *L;              /* tcpip layouts (profiles/tcpip) */
    char lname[64];
    ig_mod_truth *m;
    unsigned P;              /* pointer size */
    int real;                /* --tcpip */
    /* globals */
    uint32_t rva_table, rva_count, rva_tcp, rva_udp;
    unsigned count_width;    /* 2 (word) or 4 (dword) */
    int compartments;        /* 14393+: Tcp/UdpCompartmentSet, else Tcp/UdpPortPool */
    int have_tcp_udp;        /* the port-pool globals are known */
    /* objects shared by endpoints */
    uint64_t inetaf[2];      /* IPv4, IPv6 */
    nv_local local[NV_MAX_LOCAL];
    int nlocal;
    /* partitions: hash tables per partition */
    unsigned npart;
    uint64_t part_table;
    uint64_t ht_est[NV_MAX_PART], ht_syn[NV_MAX_PART], ht_tw[NV_MAX_PART], ht_alt[NV_MAX_PART];
    nv_pool tcp, udp;
} nv_ctx;

/* net_vista_layout.c */
ig_status nv_layout_load(nv_ctx *n);
long nv_off(const nv_ctx *n, const char *st, const char *field);
long nv_need(const nv_ctx *n, const char *st, const char *field);
long nv_body_size(const nv_ctx *n, const char *st, long minimum);
/* the module's .text / .data (RVA, size) from its in-memory section table */
ig_status nv_section(nv_ctx *n, const char *name, uint32_t *rva, uint32_t *size);
/* RVAs of the globals from profiles/tcpip/symbols.idx; 0 when the GUID is not there */
int nv_index_lookup(nv_ctx *n, const char *guid, uint32_t age);

/* net_vista_code.c */
ig_status nv_emit_code(nv_ctx *n);
ig_status nv_map_real(nv_ctx *n);

/* net_vista_obj.c */
ig_status nv_build_partitions(nv_ctx *n);
ig_status nv_build_port_pools(nv_ctx *n);
ig_status nv_build_objects(nv_ctx *n);

/* helpers (net_vista.c) */
ig_status nv_alloc(nv_ctx *n, const char tag[4], size_t size, uint64_t *body);
ig_status nv_mark_free(nv_ctx *n, uint64_t body);
ig_status nv_wptr(nv_ctx *n, uint64_t va, uint64_t v);
ig_status nv_truth(nv_ctx *n, const char *proto, const char *laddr, unsigned lport, const char *faddr,
                   unsigned fport, const char *state, const ig_proc_truth *owner, uint64_t created, uint64_t obj,
                   const char *tag, int reachable, int pool_scan);

#endif
