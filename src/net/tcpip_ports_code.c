/* Vista+ (14393 on): finding TcpCompartmentSet / UdpCompartmentSet in
 * tcpip.sys's code.  They are pointer globals whose value is dereferenced
 * at _INET_COMPARTMENT_SET.InetCompartment within a few instructions of
 * the load (tcpip 10.0.19041.4780: the only two such globals, 12 and 5
 * sites).  Which is TCP and which UDP is left to the caller, who walks what
 * each leads to. */
#include <stdlib.h>

#include "kernel/module_identity.h"
#include "pe/pe.h"
#include "symbols/code_flow.h"
#include "vista_net.h"

#define WINDOW 8                  /* instructions between the load and the use */
#define MAX_GLOBALS 4096
#define MAX_CODE_BYTES (64u << 20)
#define MIN_SITES 2
#define PAGE 0x1000u

typedef struct cscan {
    ms_cf cf;
    uint64_t inet_off;
    ms_cf_vote hits;              /* keyed by the global's RVA */
} cscan;

/* [reg + InetCompartment] with a pointer global loaded into reg: a site,
 * counted once per load. */
static void observe(ms_cf *cf, const cs_insn *insn, void *user)
{
    cscan *s = user;
    const cs_x86 *x = &insn->detail->x86;
    for (uint8_t k = 0; k < x->op_count; k++) {
        const cs_x86_op *op = &x->operands[k];
        if (op->type != X86_OP_MEM || op->mem.index != X86_REG_INVALID || (uint64_t)op->mem.disp != s->inet_off)
            continue;
        ms_cf_val *r = ms_cf_reg(cf, op->mem.base);
        if (ms_cf_holds(cf, r, MS_CF_GLOBAL)) {
            ms_cf_vote_add(&s->hits, r->g, 0, 0, 0, 0);
            *r = (ms_cf_val){0};
        }
    }
}

static int transfer(ms_cf *cf, const cs_insn *insn, ms_cf_val *out, void *user)
{
    (void)user;
    return insn->id == X86_INS_MOV && ms_cf_load(cf, insn, out) && out->width == cf->ptr_width;
}

/* The window is short: a call in it ends the chain. */
static const ms_cf_rules rules = {1, observe, NULL, transfer};

/* Page by page: a site split across a page edge is lost, which the vote
 * tolerates. */
static ms_status scan_run(void *user, const uint8_t *code, size_t len, uint32_t rva)
{
    cscan *s = user;
    for (size_t off = 0; off < len; off += PAGE)
        ms_cf_run(&s->cf, code + off, len - off < PAGE ? len - off : PAGE, rva + (uint32_t)off);
    return MS_OK;
}

static int by_sites(const void *a, const void *b)
{
    const ms_cf_group *x = a, *y = b;
    if (x->votes[0] != y->votes[0])
        return x->votes[0] < y->votes[0] ? 1 : -1;
    return (x->key[0] > y->key[0]) - (x->key[0] < y->key[0]);
}

static ms_status find_sets(const ms_pe *pe, uint64_t base, uint64_t inet_off, uint32_t *rvas, size_t max,
                           size_t *count)
{
    cscan s = {.inet_off = inet_off};
    ms_status st = ms_cf_vote_init(&s.hits, MAX_GLOBALS, "compartment-set sites");
    if (st != MS_OK)
        return st;
    st = ms_cf_open(&s.cf, pe->machine, base, pe->size_of_image, WINDOW, &rules, &s, "compartment-set code analysis");
    if (st == MS_OK) {
        st = ms_cf_sections(pe, MAX_CODE_BYTES, "tcpip.sys", scan_run, &s);
        ms_cf_close(&s.cf);
    }
    if (st == MS_OK) {
        qsort(s.hits.groups, s.hits.count, sizeof *s.hits.groups, by_sites);
        for (size_t i = 0; i < s.hits.count && *count < max && s.hits.groups[i].votes[0] >= MIN_SITES; i++)
            if (ms_cf_writable_data(pe, s.hits.groups[i].key[0]))
                rvas[(*count)++] = s.hits.groups[i].key[0];
    }
    ms_cf_vote_free(&s.hits);
    return st;
}

ms_status ms_tcpip_find_compartment_sets(ms_vspace *vs, uint64_t base, uint64_t inet_off, uint32_t *rvas, size_t max,
                                         size_t *count)
{
    if (vs == NULL || rvas == NULL || count == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tcpip_find_compartment_sets needs an address space and outputs");
    *count = 0;
    ms_vspace_pe_reader reader = {vs, base};
    ms_pe pe;
    ms_status st = ms_pe_parse(ms_vspace_pe_read, &reader, &pe);
    return st == MS_OK ? find_sets(&pe, base, inet_off, rvas, max, count) : st;
}
