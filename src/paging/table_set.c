/* A set of (table page, level) keys so the walk visits each table once. */
#include <stdlib.h>

#include "table_set.h"

void ms_table_set_init(ms_table_set *set)
{
    set->slots = NULL;
    set->capacity = 0;
    set->count = 0;
}

void ms_table_set_free(ms_table_set *set)
{
    free(set->slots);
    ms_table_set_init(set);
}

static size_t slot_of(uint64_t key, size_t mask)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & mask;
}

static void place(uint64_t *slots, size_t capacity, uint64_t key)
{
    size_t i = slot_of(key, capacity - 1);
    while (slots[i] != 0)
        i = (i + 1) & (capacity - 1);
    slots[i] = key;
}

static ms_status grow(ms_table_set *set)
{
    size_t capacity = set->capacity ? set->capacity * 2 : 1024;
    uint64_t *slots = calloc(capacity, sizeof *slots);
    if (slots == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory tracking %zu visited page tables", set->count);
    for (size_t i = 0; i < set->capacity; i++)
        if (set->slots[i] != 0)
            place(slots, capacity, set->slots[i]);
    free(set->slots);
    set->slots = slots;
    set->capacity = capacity;
    return MS_OK;
}

ms_status ms_table_set_insert(ms_table_set *set, uint64_t key, int *inserted)
{
    *inserted = 0;
    if ((set->count + 1) * 2 > set->capacity) {
        ms_status st = grow(set);
        if (st != MS_OK)
            return st;
    }
    size_t i = slot_of(key, set->capacity - 1);
    while (set->slots[i] != 0) {
        if (set->slots[i] == key)
            return MS_OK;
        i = (i + 1) & (set->capacity - 1);
    }
    set->slots[i] = key;
    set->count++;
    *inserted = 1;
    return MS_OK;
}
