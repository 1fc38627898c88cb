/* --damage KIND: hostile variants of a generated image (damage.c). */
#ifndef IG_DAMAGE_H
#define IG_DAMAGE_H

#include <stdio.h>

#include "ig.h"

enum {
    IG_DAMAGE_PROCESS_LOOP = 1u << 0,
    IG_DAMAGE_PROCESS_UNMAPPED = 1u << 1,
    IG_DAMAGE_MODULE_LOOP = 1u << 2,
    IG_DAMAGE_MODULE_UNMAPPED = 1u << 3,
    IG_DAMAGE_KERNEL_HEADERS = 1u << 4,
    IG_DAMAGE_ABSURD_SIZES = 1u << 5,
};

#define IG_DAMAGE_MAX 6

/* What was done, for the truth. */
typedef struct ig_damage_entry {
    unsigned kind;
    uint64_t at;             /* the EPROCESS / LDR entry / page that was changed */
    uint64_t target;         /* where the bad link now points */
    uint64_t extra[4];       /* absurd-sizes: the victims; headers: frame */
    int pagefile;            /* headers: pagefile (1) or demand-zero (0) PTE */
} ig_damage_entry;

struct ig_damage_log {
    ig_damage_entry e[IG_DAMAGE_MAX];
    int n;
};

/* Adds the bit of a --damage name to *mask; IG_ERR for an unknown name. */
ig_status ig_damage_parse(const char *name, unsigned *mask);
/* Every kind, for the usage text ("a|b|..."). */
const char *ig_damage_names(void);
/* Applies c->damage to the built image (before the process page tables are
 * completed) and marks what stays reachable. */
ig_status ig_damage_apply(ig_ctx *c);
/* `"damage": [...],` for the truth (nothing when no damage was asked for). */
void ig_damage_truth(const ig_ctx *c, FILE *f, int dump_type);

#endif
