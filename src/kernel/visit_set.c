#include <stdlib.h>

#include "kernel_internal.h"

ms_status ms_visit_set_init(ms_visit_set *set, size_t max_items)
{
    size_t cap = 16;
    while (cap < max_items * 2)
        cap *= 2;
    set->slots = calloc(cap, sizeof *set->slots);
    if (set->slots == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for a loop guard of %zu entries", max_items);
    set->capacity = cap;
    set->count = 0;
    return MS_OK;
}

int ms_visit_set_add(ms_visit_set *set, uint64_t value)
{
    if (set->count * 2 >= set->capacity)
        return -1;
    /* 0 marks an empty slot; store value+1 so that 0 can be remembered too. */
    uint64_t key = value + 1;
    size_t mask = set->capacity - 1;
    size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & mask;
    while (set->slots[i] != 0) {
        if (set->slots[i] == key)
            return 0;
        i = (i + 1) & mask;
    }
    set->slots[i] = key;
    set->count++;
    return 1;
}

void ms_visit_set_free(ms_visit_set *set)
{
    free(set->slots);
    set->slots = NULL;
}
