/* Reader for the kernel profile data files (docs/profiles.md). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig.h"

typedef enum { E_STRUCT, E_FIELD, E_BITS, E_SYMBOL, E_CONST } entry_kind;

typedef struct entry {
    entry_kind kind;
    char *a;       /* struct / symbol / const name */
    char *b;       /* field path */
    uint64_t v;    /* size, offset, rva, value */
    int pos, len;  /* bits */
} entry;

struct ig_prof {
    entry *e;
    size_t n, cap;
    char pdb_name[64];
    char pdb_guid[40];
    uint32_t pdb_age;
    int has_pdb;
};

static int parse_num(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return 0;
    *out = strtoull(s, &end, 0);
    return *end == '\0';
}

static ig_status add(ig_prof *p, entry e)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        entry *ne = realloc(p->e, cap * sizeof *ne);
        if (ne == NULL)
            return ig_fail("out of memory reading profile");
        p->e = ne;
        p->cap = cap;
    }
    p->e[p->n++] = e;
    return IG_OK;
}

ig_status ig_prof_load(const char *path, ig_prof **out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return ig_fail("cannot open profile %s", path);
    ig_prof *p = calloc(1, sizeof *p);
    if (p == NULL) {
        fclose(f);
        return ig_fail("out of memory");
    }
    char line[1024];
    int lineno = 0;
    ig_status st = IG_OK;
    while (st == IG_OK && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *tok[8] = {0};
        int nt = 0;
        for (char *s = strtok(line, " \t\r\n"); s && nt < 8; s = strtok(NULL, " \t\r\n"))
            tok[nt++] = s;
        if (nt == 0)
            continue;
        entry e = {0};
        uint64_t v = 0, v2 = 0, v3 = 0;
        if (strcmp(tok[0], "struct") == 0 && nt >= 3 && parse_num(tok[2], &v)) {
            e.kind = E_STRUCT;
            e.a = strdup(tok[1]);
            e.v = v;
        } else if (strcmp(tok[0], "field") == 0 && nt >= 4 && parse_num(tok[3], &v)) {
            e.kind = E_FIELD;
            e.a = strdup(tok[1]);
            e.b = strdup(tok[2]);
            e.v = v;
        } else if (strcmp(tok[0], "bits") == 0 && nt >= 6 && parse_num(tok[3], &v) &&
                   parse_num(tok[4], &v2) && parse_num(tok[5], &v3)) {
            e.kind = E_BITS;
            e.a = strdup(tok[1]);
            e.b = strdup(tok[2]);
            e.v = v;
            e.pos = (int)v2;
            e.len = (int)v3;
        } else if (strcmp(tok[0], "symbol") == 0 && nt >= 3 && parse_num(tok[2], &v)) {
            e.kind = E_SYMBOL;
            e.a = strdup(tok[1]);
            e.v = v;
        } else if (strcmp(tok[0], "const") == 0 && nt >= 3) {
            e.kind = E_CONST;
            e.a = strdup(tok[1]);
            if (!parse_num(tok[2], &v)) {
                /* four-character tags are stored as their little-endian u32 */
                v = 0;
                for (int i = 0; i < 4 && tok[2][i]; i++)
                    v |= (uint64_t)(uint8_t)tok[2][i] << (8 * i);
            }
            e.v = v;
        } else if (strcmp(tok[0], "pdb") == 0 && nt >= 4 && parse_num(tok[3], &v)) {
            snprintf(p->pdb_name, sizeof p->pdb_name, "%s", tok[1]);
            snprintf(p->pdb_guid, sizeof p->pdb_guid, "%s", tok[2]);
            for (char *g = p->pdb_guid; *g; g++)
                *g = (char)toupper((unsigned char)*g);
            p->pdb_age = (uint32_t)v;
            p->has_pdb = strlen(p->pdb_guid) == 32;
            continue;
        } else {
            continue; /* profile, module, arch, builds, version, source, unknown */
        }
        if (e.a == NULL || (e.kind != E_STRUCT && e.kind != E_SYMBOL && e.kind != E_CONST && e.b == NULL))
            st = ig_fail("out of memory reading %s", path);
        else
            st = add(p, e);
    }
    fclose(f);
    if (st != IG_OK) {
        ig_prof_free(p);
        return st;
    }
    *out = p;
    return IG_OK;
}

void ig_prof_free(ig_prof *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->e[i].a);
        free(p->e[i].b);
    }
    free(p->e);
    free(p);
}

/* Later statements override earlier ones: search from the end. */
static const entry *find(const ig_prof *p, entry_kind k, const char *a, const char *b)
{
    for (size_t i = p->n; i-- > 0;) {
        const entry *e = &p->e[i];
        if (e->kind == k && strcmp(e->a, a) == 0 && (b == NULL || strcmp(e->b, b) == 0))
            return e;
    }
    return NULL;
}

long ig_prof_struct_size(const ig_prof *p, const char *st)
{
    const entry *e = find(p, E_STRUCT, st, NULL);
    return e ? (long)e->v : -1;
}

long ig_prof_field(const ig_prof *p, const char *st, const char *path)
{
    const entry *e = find(p, E_FIELD, st, path);
    if (e)
        return (long)e->v;
    e = find(p, E_BITS, st, path);
    return e ? (long)e->v : -1;
}

ig_status ig_prof_bits(const ig_prof *p, const char *st, const char *path, long *off, int *pos, int *len)
{
    const entry *e = find(p, E_BITS, st, path);
    if (e == NULL)
        return IG_ERR;
    *off = (long)e->v;
    *pos = e->pos;
    *len = e->len;
    return IG_OK;
}

int ig_prof_symbol(const ig_prof *p, const char *name, uint64_t *rva)
{
    const entry *e = find(p, E_SYMBOL, name, NULL);
    if (e)
        *rva = e->v;
    return e != NULL;
}

int ig_prof_const(const ig_prof *p, const char *name, uint64_t *val)
{
    const entry *e = find(p, E_CONST, name, NULL);
    if (e)
        *val = e->v;
    return e != NULL;
}

int ig_prof_pdb(const ig_prof *p, const char **name, const char **guid, uint32_t *age)
{
    if (!p->has_pdb)
        return 0;
    *name = p->pdb_name;
    *guid = p->pdb_guid;
    *age = p->pdb_age;
    return 1;
}

ig_status ig_prof_shift(ig_prof *p, const char *st, const char *after, long delta)
{
    const entry *a = find(p, E_FIELD, st, after);
    if (a == NULL)
        return ig_fail("profile has no %s.%s to shift after", st, after);
    uint64_t from = a->v;
    for (size_t i = 0; i < p->n; i++) {
        entry *e = &p->e[i];
        if (strcmp(e->a, st) != 0)
            continue;
        if (e->kind == E_STRUCT || ((e->kind == E_FIELD || e->kind == E_BITS) && e->v > from))
            e->v = (uint64_t)((int64_t)e->v + delta);
    }
    /* the symbol RVAs belong to the profile's PDB, not to the other kernel */
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->e[i].kind == E_SYMBOL) {
            free(p->e[i].a);
            free(p->e[i].b);
        } else {
            p->e[k++] = p->e[i];
        }
    }
    p->n = k;
    p->has_pdb = 0;
    return IG_OK;
}

ig_status ig_prof_put(ig_prof *p, const char *st, const char *path, uint64_t v)
{
    entry e = {.kind = path ? E_FIELD : E_STRUCT, .a = strdup(st), .b = path ? strdup(path) : NULL, .v = v};
    if (e.a == NULL || (path && e.b == NULL)) {
        free(e.a);
        free(e.b);
        return ig_fail("out of memory");
    }
    return add(p, e);
}
