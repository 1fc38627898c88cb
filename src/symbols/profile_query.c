/* Look-ups in a parsed profile. */
#include <stdlib.h>
#include <string.h>

#include "profile_internal.h"

static int compare_keys(const char *a1, const char *a2, const char *b1, const char *b2)
{
    int c = strcmp(a1, b1);
    return c != 0 ? c : strcmp(a2, b2);
}

static int compare_entries(const void *a, const void *b)
{
    const ms_profile_entry *x = a, *y = b;
    int c = compare_keys(x->key1, x->key2, y->key1, y->key2);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void ms_profile_table_finish(ms_profile_table *t)
{
    if (t->count < 2)
        return;
    qsort(t->entries, t->count, sizeof *t->entries, compare_entries);
    size_t out = 0;
    for (size_t i = 0; i < t->count; i++) {
        if (out > 0 && compare_keys(t->entries[out - 1].key1, t->entries[out - 1].key2, t->entries[i].key1,
                                    t->entries[i].key2) == 0)
            t->entries[out - 1] = t->entries[i];
        else
            t->entries[out++] = t->entries[i];
    }
    t->count = out;
}

const ms_profile_entry *ms_profile_table_find(const ms_profile_table *t, const char *key1, const char *key2)
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_keys(t->entries[mid].key1, t->entries[mid].key2, key1, key2);
        if (c == 0)
            return &t->entries[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *ms_profile_name(const ms_profile *p) { return p->name; }
const char *ms_profile_module(const ms_profile *p) { return p->module; }
unsigned ms_profile_pointer_size(const ms_profile *p) { return p->pointer_size; }
uint32_t ms_profile_build_min(const ms_profile *p) { return p->build_min; }
uint32_t ms_profile_build_max(const ms_profile *p) { return p->build_max; }
uint32_t ms_profile_revision_min(const ms_profile *p) { return p->revision_min; }
uint32_t ms_profile_revision_max(const ms_profile *p) { return p->revision_max; }
const char *ms_profile_pdb_guid(const ms_profile *p) { return p->pdb_guid; }
uint32_t ms_profile_pdb_age(const ms_profile *p) { return p->pdb_age; }
const char *ms_profile_source(const ms_profile *p) { return p->source; }

ms_status ms_profile_struct_size(const ms_profile *p, const char *type, uint32_t *size)
{
    const ms_profile_entry *e = ms_profile_table_find(&p->structs, type, "");
    if (e == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "profile %s has no struct %s", p->name, type);
    *size = (uint32_t)e->value;
    return MS_OK;
}

ms_status ms_profile_field(const ms_profile *p, const char *type, const char *path, uint32_t *offset)
{
    const ms_profile_entry *e = ms_profile_table_find(&p->fields, type, path);
    if (e == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "profile %s has no field %s.%s", p->name, type, path);
    *offset = (uint32_t)e->value;
    return MS_OK;
}

ms_status ms_profile_bits(const ms_profile *p, const char *type, const char *path, uint32_t *offset,
                          uint32_t *bit_position, uint32_t *bit_length)
{
    const ms_profile_entry *e = ms_profile_table_find(&p->fields, type, path);
    if (e == NULL || e->bit_length == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "profile %s has no bit field %s.%s", p->name, type, path);
    *offset = (uint32_t)e->value;
    *bit_position = e->bit_position;
    *bit_length = e->bit_length;
    return MS_OK;
}

ms_status ms_profile_symbol(const ms_profile *p, const char *name, uint64_t *rva)
{
    const ms_profile_entry *e = ms_profile_table_find(&p->symbols, name, "");
    if (e == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "profile %s has no symbol %s", p->name, name);
    *rva = e->value;
    return MS_OK;
}

ms_status ms_profile_const(const ms_profile *p, const char *name, const char **value)
{
    const ms_profile_entry *e = ms_profile_table_find(&p->consts, name, "");
    if (e == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "profile %s has no constant %s", p->name, name);
    *value = e->text;
    return MS_OK;
}

ms_status ms_profile_const_u64(const ms_profile *p, const char *name, uint64_t *value)
{
    const char *text = NULL;
    ms_status st = ms_profile_const(p, name, &text);
    if (st != MS_OK)
        return st;
    char *end;
    unsigned long long v = strtoull(text, &end, 0);
    if (*text == '\0' || *end != '\0')
        return ms_fail(MS_ERR_FORMAT, "profile %s: constant %s is '%s', expected a number", p->name, name, text);
    *value = v;
    return MS_OK;
}

size_t ms_profile_candidate_count(const ms_profile *p)
{
    return p->candidates.count;
}

ms_status ms_profile_candidate_at(const ms_profile *p, size_t index, const char **set, const char **name, uint64_t *rva)
{
    if (index >= p->candidates.count)
        return ms_fail(MS_ERR_ARG, "profile %s has %zu candidate symbols, asked for number %zu", p->name,
                       p->candidates.count, index);
    const ms_profile_entry *e = &p->candidates.entries[index];
    *set = e->key1;
    *name = e->key2;
    *rva = e->value;
    return MS_OK;
}
