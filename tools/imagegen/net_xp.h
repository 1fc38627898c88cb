/* XP / Server 2003 tcpip.sys structures (net_xp*.c): shared declarations. */
#ifndef NET_XP_H
#define NET_XP_H

#include "ig.h"

#define XP_MAX_OBJS 64
#define XP_MAX_CANDS 48
#define XP_ARRAY_TAG "TCPh"      /* bucket arrays: made up, the real tag is not known here */
#define XP_DECOY_BUCKETS 64u

/* The four tcpip.sys globals of one Volatility 2 address set
 * (volatility/win32/network.py module_versions_xp / _2003). */
enum { XP_TCB_TABLE = 0, XP_TCB_SIZE, XP_AO_TABLE, XP_AO_SIZE, XP_NGLOBALS };

typedef enum {
    XP_LIVE = 0,    /* allocated and linked from its table */
    XP_FREED,       /* pool block freed (PoolType 0), content intact */
    XP_LOOKASIDE,   /* freed to a lookaside list: header still allocated, unlinked */
    XP_GARBAGE,     /* freed block whose body was reused by something else */
} xp_state;

typedef struct xp_obj {
    int sock;                /* 0 = _TCPT_OBJECT, 1 = _ADDRESS_OBJECT */
    xp_state state;
    uint8_t laddr[4], raddr[4];  /* network order, as stored */
    uint16_t lport, rport;
    uint32_t pid;
    uint16_t proto;          /* sockets: IP protocol number */
    uint64_t ctime;          /* sockets: CreateTime FILETIME */
    int role_conn;           /* sockets: bound for an outgoing connection */
    int bucket;              /* -1: hashed */
    uint64_t va, pa;         /* object body (after the pool header) */
} xp_obj;

typedef struct xp_net {
    int x64;
    /* _TCPT_OBJECT and _ADDRESS_OBJECT field offsets (tcpip profile) */
    long t_next, t_raddr, t_laddr, t_rport, t_lport, t_pid;
    long a_next, a_laddr, a_lport, a_proto, a_pid, a_ctime;
    size_t t_body, a_body;   /* pool block body sizes */
    char set[16];            /* candidate set label */
    uint64_t rva[XP_NGLOBALS];
    uint64_t cand_rva[XP_MAX_CANDS]; /* every candidate slot of the profile */
    int ncand;
    uint16_t ver[4];         /* tcpip.sys FileVersion */
    uint32_t timestamp;
    const char *lab;         /* build lab suffix of the FileVersion string */
    uint64_t tcb_table, ao_table, decoy_table;
    uint64_t decoy_rva[2];   /* pointer and LONG of the decoy hash table */
    uint32_t tcb_size, ao_size;
    uint8_t nic[4], server[4];
    xp_obj objs[XP_MAX_OBJS];
    int nobjs;
} xp_net;

/* XP / 2003 tcpip.sys sections (modules.c): .text, then .data holding every
 * candidate RVA of the profile (xp-x86 0x3F3B0-0x49AEB, 2003-x64
 * 0x861CC-0xCD2DF), PAGE, INIT, .reloc.  The rest of the image is PAGE. */
#define XP_TEXT_END(x64) ((x64) ? 0x86000u : 0x3F000u)
#define XP_DATA_END(x64) ((x64) ? 0xCE000u : 0x4B000u)
int xp_tcpip_sections(int x64, uint32_t size, ig_pe_section sec[5], uint32_t *dir_rva);

/* net_xp_code.c: code that indexes the tables by hash % count, and a
 * decoy hash table of another kind. */
ig_status xp_code_write(ig_ctx *c, xp_net *n, const ig_mod_truth *m);

/* net_xp_pe.c: FileVersion resource and timestamps of tcpip.sys. */
ig_status xp_tcpip_version(ig_ctx *c, const xp_net *n, ig_mod_truth *m);

/* net_xp_objs.c */
ig_status xp_objects_write(ig_ctx *c, xp_net *n);
ig_status xp_decoys_write(ig_ctx *c, const xp_net *n);
ig_status xp_truth_add(ig_ctx *c, const xp_net *n);

#endif
