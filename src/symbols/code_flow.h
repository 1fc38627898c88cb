/* The machinery shared by the capstone analyses of tcpip.sys (tcpip_code,
 * xp_code, tcpip_ports_code): reading the executable sections around
 * missing pages, following values register by register from the loads of
 * globals, checking where a global lives, and counting the sites that
 * agree.  Each analysis brings only its own pattern, as ms_cf_rules. */
#ifndef MS_SYMBOLS_CODE_FLOW_H
#define MS_SYMBOLS_CODE_FLOW_H

#include <capstone/capstone.h>
#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "pe/pe.h"

/* ---- the executable sections (code_flow_pe.c) ---- */

typedef ms_status (*ms_cf_run_fn)(void *user, const uint8_t *code, size_t len, uint32_t rva);

/* MS_ERR_NOT_FOUND when `pe` has no code, MS_ERR_LIMIT when it claims more
 * than `max_bytes`; `module` names the image in the message. */
ms_status ms_cf_check_code(const ms_pe *pe, uint32_t max_bytes, const char *module);

/* ms_cf_check_code, then `fn` on each run of readable pages of each
 * executable section.  Missing pages end a run; other read errors and
 * errors of `fn` stop the walk. */
ms_status ms_cf_sections(const ms_pe *pe, uint32_t max_bytes, const char *module, ms_cf_run_fn fn, void *user);

/* 1 when `rva` is in a writable, non-executable section. */
int ms_cf_writable_data(const ms_pe *pe, uint32_t rva);

/* MS_ERR_FORMAT naming `what` when `rva` is not in writable data. */
ms_status ms_cf_check_writable(const ms_pe *pe, uint32_t rva, const char *what);

/* 1 when a `a_width`-byte global at `a` and a `b_width`-byte one at `b`
 * share a byte. */
int ms_cf_overlap(uint32_t a, unsigned a_width, uint32_t b, unsigned b_width);

/* ---- following values (code_flow.c) ---- */

#define MS_CF_NREGS 16

/* What a register holds.  Kinds from MS_CF_KIND_FIRST on are the
 * analysis's own. */
enum { MS_CF_NONE = 0, MS_CF_GLOBAL = 1, MS_CF_KIND_FIRST = 2 };

typedef struct ms_cf_val {
    uint8_t kind;
    uint8_t width;             /* GLOBAL: bytes loaded */
    uint8_t flag;              /* the analysis's */
    uint32_t g;                /* GLOBAL: its RVA */
    uint32_t scale;            /* the analysis's */
    uint64_t born;             /* ordinal of the instruction that made it */
} ms_cf_val;

typedef struct ms_cf ms_cf;

/* An analysis's pattern.  Control transfers are handled before them: ret,
 * jmp and int3 forget every register, call the volatile ones (or all of
 * them with call_forgets_all). */
typedef struct ms_cf_rules {
    int call_forgets_all;
    /* Sees each other instruction before its writes (sites, compares). */
    void (*observe)(ms_cf *cf, const cs_insn *insn, void *user);
    /* The value a div by a global (`divisor`) leaves in rdx/edx; 0 for
     * none.  NULL: divisions are not followed. */
    int (*remainder)(ms_cf *cf, const cs_insn *insn, const ms_cf_val *divisor, ms_cf_val *rem, void *user);
    /* The value left in the first operand, a register; 0 forgets it. */
    int (*transfer)(ms_cf *cf, const cs_insn *insn, ms_cf_val *out, void *user);
} ms_cf_rules;

struct ms_cf {
    csh cs;
    cs_insn *insn;
    int is_64;
    unsigned ptr_width;
    uint64_t image_base;       /* x86 absolute operands are relative to it */
    uint32_t image_size;       /* globals lie below it */
    unsigned max_chain;        /* instructions a value stays fresh */
    uint64_t ordinal;          /* of the current instruction */
    ms_cf_val regs[MS_CF_NREGS];
    const ms_cf_rules *rules;
    void *user;
};

/* `machine` is MS_PE_MACHINE_AMD64 or MS_PE_MACHINE_I386; `what` names
 * the analysis in the message otherwise. */
ms_status ms_cf_open(ms_cf *cf, uint16_t machine, uint64_t image_base, uint32_t image_size, unsigned max_chain,
                     const ms_cf_rules *rules, void *user, const char *what);
void ms_cf_close(ms_cf *cf);

/* Step the rules over the `len` bytes of code placed at `rva`.  Registers
 * start unknown and are forgotten at each byte that is not an instruction;
 * ordinals of separate runs lie far apart. */
void ms_cf_run(ms_cf *cf, const uint8_t *code, size_t len, uint32_t rva);

/* 0..15 for the 64-bit register holding `r`, or -1. */
int ms_cf_slot(x86_reg r);
/* What the register holds; NULL when it is not a general one. */
ms_cf_val *ms_cf_reg(ms_cf *cf, x86_reg r);
/* `v` was made at most max_chain instructions ago. */
int ms_cf_fresh(const ms_cf *cf, const ms_cf_val *v);
/* `v` is not NULL, of `kind` and fresh. */
int ms_cf_holds(const ms_cf *cf, const ms_cf_val *v, unsigned kind);
/* The RVA a memory operand names when it is a plain global: RIP-relative
 * on x64, absolute on x86. */
int ms_cf_global(const ms_cf *cf, const cs_insn *insn, const x86_op_mem *m, uint32_t *rva);
/* A two-operand instruction whose source is a global in memory: the
 * GLOBAL value it reads. */
int ms_cf_load(const ms_cf *cf, const cs_insn *insn, ms_cf_val *out);

/* ---- collecting and counting sites (code_flow_vote.c) ---- */

/* Make room for `need` elements of `elem` bytes, at most `limit`. */
int ms_cf_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t limit);

typedef struct ms_cf_group {
    uint32_t key[3];
    unsigned votes[2];         /* by kind of site */
    size_t first;              /* the first site that named it */
} ms_cf_group;

typedef struct ms_cf_vote {
    ms_cf_group *groups;       /* in order of first appearance */
    size_t count, max;
} ms_cf_vote;

ms_status ms_cf_vote_init(ms_cf_vote *v, size_t max, const char *what);
/* One vote of `kind` (0 or 1) from site number `site`; a new key past
 * `max` groups is not counted. */
void ms_cf_vote_add(ms_cf_vote *v, uint32_t k0, uint32_t k1, uint32_t k2, unsigned kind, size_t site);
void ms_cf_vote_free(ms_cf_vote *v);

#endif
