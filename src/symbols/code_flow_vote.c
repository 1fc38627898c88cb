/* Collecting the sites a code analysis finds and counting, per key (the
 * globals and sizes a site names), how many agree. */
#include "code_flow.h"

#include <stdlib.h>

int ms_cf_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t limit)
{
    if (need <= *cap)
        return 1;
    if (need > limit)
        return 0;
    size_t n = *cap ? *cap * 2 : 256;
    if (n > limit)
        n = limit;
    void *p = realloc(*arr, n * elem);
    if (p == NULL)
        return 0;
    *arr = p;
    *cap = n;
    return 1;
}

ms_status ms_cf_vote_init(ms_cf_vote *v, size_t max, const char *what)
{
    v->count = 0;
    v->max = max;
    v->groups = calloc(max, sizeof *v->groups);
    if (v->groups == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory counting %s", what);
    return MS_OK;
}

void ms_cf_vote_add(ms_cf_vote *v, uint32_t k0, uint32_t k1, uint32_t k2, unsigned kind, size_t site)
{
    size_t k = 0;
    while (k < v->count && (v->groups[k].key[0] != k0 || v->groups[k].key[1] != k1 || v->groups[k].key[2] != k2))
        k++;
    if (k == v->count) {
        if (v->count == v->max)
            return;
        v->groups[v->count++] = (ms_cf_group){{k0, k1, k2}, {0, 0}, site};
    }
    v->groups[k].votes[kind & 1]++;
}

void ms_cf_vote_free(ms_cf_vote *v)
{
    free(v->groups);
    v->groups = NULL;
    v->count = 0;
}
