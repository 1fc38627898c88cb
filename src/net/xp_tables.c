/* XP / 2003: validating and locating tcpip.sys's TCB and address-object
 * tables.  Each is a pointer global holding the address of an array of
 * bucket heads (object pointers, each the start of a Next chain) and a LONG
 * global holding the bucket count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "kernel/module_identity.h"
#include "xp_code.h"
#include "xp_net.h"

static const char *const tags[2] = {"TCPT", "TCPA"};
static const char *const table_names[2] = {"TCB table", "address-object table"};
static const char *const sym_table[2] = {"TCBTable", "AddrObjTable"};
static const char *const sym_count[2] = {"MaxHashTableSize", "AddrObjTableSize"};

int ms_xp_kernel_pointer(unsigned ptr, uint64_t va)
{
    if (ptr == 4)
        return va >= 0x80000000ull && va <= 0xFFFFFFF8ull && va % 8 == 0;
    return va >= 0xFFFF800000000000ull && va <= 0xFFFFFFFFFFFFFFF0ull && va % 16 == 0;
}

uint32_t ms_xp_object_tag(ms_vspace *vs, const ms_xp_layout *l, uint64_t object)
{
    uint32_t tag;
    if (object < l->hdr || ms_vspace_read_u32(vs, object - l->hdr + 4, &tag) != MS_OK)
        return 0;
    return tag;
}

/* Tags may carry the protected-pool bit (0x80000000). */
static int tag_is(uint32_t tag, ms_xp_table_kind kind)
{
    return (tag & 0x7FFFFFFFu) == ms_pool_tag_value(tags[kind]);
}

static uint64_t slot_value(const uint8_t *p, unsigned ptr)
{
    uint64_t v = 0;
    memcpy(&v, p, ptr);
    return v;
}

/* Slots valid from the start of `array` (0, or a pointer to an object with
 * the kind's tag), at most `max`; *hits counts the objects, *last the index
 * of the last one. */
static uint32_t valid_run(ms_xp_ctx *ctx, const ms_xp_layout *l, ms_xp_table_kind kind, uint64_t array, uint32_t max,
                          uint32_t *hits, uint32_t *last, uint32_t *untagged, uint64_t *budget)
{
    uint8_t page[4096];
    uint32_t per_page = (uint32_t)(sizeof page / l->ptr), i = 0;
    *hits = *last = *untagged = 0;
    while (i < max) {
        uint64_t va = array + (uint64_t)i * l->ptr;
        size_t len = (size_t)(4096 - (va & 4095));
        uint32_t n = (uint32_t)(len / l->ptr);
        if (n > per_page)
            n = per_page;
        if (ms_vspace_read(ctx->vs, va, page, (size_t)n * l->ptr) != MS_OK)
            return i;
        if (budget != NULL) {
            if (*budget < n) {
                *budget = 0;
                *hits = 0;
                return 0;
            }
            *budget -= n;
        }
        for (uint32_t k = 0; k < n && i < max; k++, i++) {
            uint64_t v = slot_value(page + (size_t)k * l->ptr, l->ptr);
            if (v == 0)
                continue;
            if (!ms_xp_kernel_pointer(l->ptr, v))
                return i;
            if (!tag_is(ms_xp_object_tag(ctx->vs, l, v), kind)) {
                (*untagged)++;
                return i;
            }
            (*hits)++;
            *last = i;
        }
    }
    return i;
}

int ms_xp_table_score(ms_xp_ctx *ctx, const ms_xp_layout *l, ms_xp_table_kind kind, uint64_t array,
                      uint32_t count)
{
    if (count == 0 || count > MS_XP_MAX_BUCKETS || !ms_xp_kernel_pointer(l->ptr, array))
        return -1;
    uint32_t hits, last, untagged;
    if (valid_run(ctx, l, kind, array, count, &hits, &last, &untagged, NULL) != count)
        return -1;
    return (int)hits;
}

static int read_global(ms_xp_ctx *ctx, uint64_t rva, unsigned width, uint64_t *out)
{
    if (rva >= ctx->tcpip.size)
        return 0;
    *out = 0;
    return ms_vspace_read(ctx->vs, ctx->tcpip.base + rva, out, width) == MS_OK;
}

/* Try every candidate set of every applicable profile, the set named after
 * tcpip.sys's revision first.  An empty TCB table is accepted (a machine
 * may have no connection), but only from a set whose address-object table
 * holds objects. */
static int from_candidates(ms_xp_ctx *ctx, ms_xp_table_kind kind, ms_xp_table *out)
{
    char revision[16];
    snprintf(revision, sizeof revision, "%d", ctx->revision);
    int best = -1;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t li = 0; li < ctx->nlayouts; li++) {
            const ms_xp_layout *l = &ctx->layouts[li];
            size_t n = ms_profile_candidate_count(l->profile);
            for (size_t i = 0; i < n; i++) {
                const char *set, *name;
                uint64_t rva;
                if (ms_profile_candidate_at(l->profile, i, &set, &name, &rva) != MS_OK ||
                    strcmp(name, sym_table[kind]) != 0)
                    continue;
                if ((strcmp(set, revision) == 0) != (pass == 0))
                    continue;
                uint64_t count_rva = 0, array = 0, count = 0, other_rva = 0, other_array = 0, other_count = 0;
                int have_count = 0;
                for (size_t j = 0; j < n; j++) {
                    const char *s2, *n2;
                    uint64_t r2;
                    if (ms_profile_candidate_at(l->profile, j, &s2, &n2, &r2) != MS_OK || strcmp(s2, set) != 0)
                        continue;
                    if (strcmp(n2, sym_count[kind]) == 0) {
                        count_rva = r2;
                        have_count = 1;
                    }
                }
                if (!have_count || !read_global(ctx, rva, l->ptr, &array) || !read_global(ctx, count_rva, 4, &count))
                    continue;
                int score = ms_xp_table_score(ctx, l, kind, array, (uint32_t)count);
                if (score < 0)
                    continue;
                if (score == 0 && kind == MS_XP_TCB) {
                    /* empty: only with the same set's address objects */
                    uint64_t ao_rva = 0, aoc_rva = 0;
                    for (size_t j = 0; j < n; j++) {
                        const char *s2, *n2;
                        uint64_t r2;
                        if (ms_profile_candidate_at(l->profile, j, &s2, &n2, &r2) != MS_OK || strcmp(s2, set) != 0)
                            continue;
                        if (strcmp(n2, sym_table[MS_XP_ADDROBJ]) == 0)
                            ao_rva = r2;
                        if (strcmp(n2, sym_count[MS_XP_ADDROBJ]) == 0)
                            aoc_rva = r2;
                    }
                    other_rva = ao_rva;
                    if (!read_global(ctx, other_rva, l->ptr, &other_array) ||
                        !read_global(ctx, aoc_rva, 4, &other_count) ||
                        ms_xp_table_score(ctx, l, MS_XP_ADDROBJ, other_array, (uint32_t)other_count) <= 0)
                        continue;
                } else if (score == 0) {
                    continue;
                }
                if (score > best) {
                    best = score;
                    out->array = array;
                    out->count = (uint32_t)count;
                    out->layout = li;
                    snprintf(out->how, sizeof out->how, "tcpip profile %s, address set %s",
                             ms_profile_name(l->profile), set);
                }
            }
        }
        /* The set named by the revision wins when it validates. */
        if (best >= 0)
            return 1;
    }
    return 0;
}

/* The pairs code analysis reports, read and scored as `kind` tables: the
 * most voted pair whose array holds objects of the kind's tag; an empty
 * array only as the TCB table, when another pair holds address objects. */
static int from_code(ms_xp_ctx *ctx, ms_xp_table_kind kind, ms_xp_table *out)
{
    ms_vspace_pe_reader reader = {ctx->vs, ctx->tcpip.base};
    ms_pe pe;
    ms_xp_code_result res;
    if (ms_pe_parse(ms_vspace_pe_read, &reader, &pe) != MS_OK ||
        ms_xp_code_find(&pe, ctx->tcpip.base, &res) != MS_OK) {
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "code analysis of tcpip.sys found no %s: %s", table_names[kind],
                      ms_last_error());
        return 0;
    }
    const ms_xp_layout *l = &ctx->layouts[0];
    int score[MS_XP_CODE_MAX_TABLES], other[MS_XP_CODE_MAX_TABLES], have_other = 0;
    uint64_t array[MS_XP_CODE_MAX_TABLES], count[MS_XP_CODE_MAX_TABLES];
    for (size_t i = 0; i < res.count; i++) {
        const ms_xp_code_table *t = &res.tables[i];
        score[i] = other[i] = -1;
        if (!read_global(ctx, t->table_rva, l->ptr, &array[i]) || !read_global(ctx, t->count_rva, 4, &count[i]))
            continue;
        score[i] = ms_xp_table_score(ctx, l, kind, array[i], (uint32_t)count[i]);
        other[i] = ms_xp_table_score(ctx, l, kind == MS_XP_TCB ? MS_XP_ADDROBJ : MS_XP_TCB, array[i],
                                     (uint32_t)count[i]);
        have_other |= other[i] > 0;
    }
    size_t pick = res.count;
    for (size_t i = 0; i < res.count && pick == res.count; i++)
        if (score[i] > 0)
            pick = i;
    for (size_t i = 0; i < res.count && pick == res.count && kind == MS_XP_TCB && have_other; i++)
        if (score[i] == 0 && other[i] <= 0)
            pick = i;
    if (pick == res.count) {
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO,
                      "code analysis of tcpip.sys: none of the %zu hashed pointer tables holds %s objects",
                      res.count, tags[kind]);
        return 0;
    }
    const ms_xp_code_table *t = &res.tables[pick];
    out->array = array[pick];
    out->count = (uint32_t)count[pick];
    out->layout = 0;
    snprintf(out->how, sizeof out->how, "%u sites index the pointer at tcpip+0x%x by hash %% the LONG at tcpip+0x%x",
             t->sites, t->table_rva, t->count_rva);
    return 1;
}

#define MS_XP_MAX_MODULE (8u << 20)

/* Read tcpip.sys's image; unreadable pages stay zero. */
static uint8_t *read_module(ms_xp_ctx *ctx, size_t *len)
{
    size_t size = (size_t)ctx->tcpip.size;
    if (size == 0 || size > MS_XP_MAX_MODULE)
        return NULL;
    size = (size + 4095) & ~(size_t)4095;
    uint8_t *img = calloc(1, size);
    if (img == NULL)
        return NULL;
    for (size_t off = 0; off < size; off += 4096)
        if (ms_vspace_read(ctx->vs, ctx->tcpip.base + off, img + off, 4096) != MS_OK)
            memset(img + off, 0, 4096);
    *len = size;
    return img;
}

/* A LONG of the image in (lo, hi]: `hi` itself when present (the run ends
 * where the table does, at the next pool header), else the largest; 0 if
 * none. */
static uint32_t count_global(const uint8_t *img, size_t len, uint32_t lo, uint32_t hi, uint64_t *rva)
{
    uint32_t best = 0;
    for (size_t off = 0; off + 4 <= len; off += 4) {
        uint32_t v;
        memcpy(&v, img + off, 4);
        if (v == hi) {
            *rva = off;
            return v;
        }
        if (v > lo && v <= hi && v > best) {
            best = v;
            *rva = off;
        }
    }
    return best;
}

/* Without a working candidate set: every aligned pointer in tcpip.sys's
 * image (the globals live in .data on real systems, elsewhere in some
 * builds) is tried as the table pointer.  The table holds valid slots up
 * to its end (the next pool header or a non-pointer ends it); the count is
 * the LONG beside the pointer (AddrObjTableSize follows AddrObjTable in
 * every known build), else the largest LONG of the image within the valid
 * run, else the run itself. */
static int structural(ms_xp_ctx *ctx, ms_xp_table_kind kind, ms_xp_table *out)
{
    if (!ctx->have_module)
        return 0;
    size_t len = 0;
    uint8_t *img = read_module(ctx, &len);
    if (img == NULL)
        return 0;
    const ms_xp_layout *l = &ctx->layouts[0];
    uint32_t best_hits = 0;
    /* Slots examined over the whole search: a bound on its time. */
    uint64_t budget = 1ull << 25;
    for (size_t off = 0; off + l->ptr <= len && budget > 0; off += l->ptr) {
        uint64_t v = slot_value(img + off, l->ptr);
        if (!ms_xp_kernel_pointer(l->ptr, v) ||
            (v >= ctx->tcpip.base && v < ctx->tcpip.base + ctx->tcpip.size))
            continue;
        uint32_t hits, last, untagged;
        uint32_t run = valid_run(ctx, l, kind, v, MS_XP_MAX_BUCKETS, &hits, &last, &untagged, &budget);
        if (hits == 0 || hits <= best_hits)
            continue;
        uint32_t count = 0;
        uint64_t count_rva = off + l->ptr;
        const char *how = "the count beside it";
        if (off + l->ptr + 4 <= len) {
            uint32_t beside;
            memcpy(&beside, img + off + l->ptr, 4);
            if (beside > last && beside <= run)
                count = beside;
        }
        if (count == 0) {
            count = count_global(img, len, last, run, &count_rva);
            how = "a LONG global";
        }
        if (count == 0) {
            count = run;
            how = "the valid run";
        }
        best_hits = hits;
        out->array = v;
        out->count = count;
        out->layout = 0;
        snprintf(out->how, sizeof out->how, "pointer at tcpip+0x%zx, %u buckets from %s",
                 off, count, how);
        (void)count_rva;
    }
    free(img);
    return best_hits > 0;
}

ms_status ms_xp_find_table(ms_xp_ctx *ctx, ms_xp_table_kind kind, ms_xp_table *out)
{
    memset(out, 0, sizeof *out);
    if (!ctx->have_module)
        return ms_fail(MS_ERR_NOT_FOUND, "tcpip.sys is not in the module list, so its %s cannot be found",
                       table_names[kind]);
    if (from_candidates(ctx, kind, out)) {
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "%s at 0x%llx (%u buckets) found by a candidate set: %s",
                      table_names[kind], (unsigned long long)out->array, out->count, out->how);
        return MS_OK;
    }
    if (from_code(ctx, kind, out)) {
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO,
                      "no candidate set of the tcpip profiles holds a valid %s; %s at 0x%llx (%u buckets) found by "
                      "code analysis: %s",
                      table_names[kind], table_names[kind], (unsigned long long)out->array, out->count, out->how);
        return MS_OK;
    }
    if (structural(ctx, kind, out)) {
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING,
                      "neither a candidate set of the tcpip profiles nor code analysis gives a valid %s; %s at "
                      "0x%llx (%u buckets) found by structural search: %s",
                      table_names[kind], table_names[kind], (unsigned long long)out->array, out->count, out->how);
        return MS_OK;
    }
    return ms_fail(MS_ERR_NOT_FOUND,
                   "no valid %s in tcpip.sys (%s %s): no candidate set validates, code analysis finds none and no "
                   "pointer in its image "
                   "leads to %s objects; the pool scan (%s) may still find them",
                   table_names[kind], ctx->tcpip.name, ctx->tcpip.file_version[0] ? ctx->tcpip.file_version : "",
                   tags[kind], kind == MS_XP_TCB ? "connscan" : "sockscan");
}
