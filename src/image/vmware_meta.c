/* VMware checkpoint files (.vmss suspend state, .vmsn snapshot state):
 *   header  u32 magic, u32 (unused here), u32 group count
 *   groups  at offset 12, each char name[64] (NUL-padded), u64 offset, u64 size
 * A group is a run of tags ending with a zero u16.  Each tag is
 *   u8 flags   bits 6-7: number of u32 indices, bits 0-5: value size
 *   u8 name length, the name, the indices, the value
 * Value size 62 (compressed) and 63 mark a block: two sizes (block bytes,
 * bytes in memory; u32 in version-0 files, else u64), a u16 pad length, the
 * pad, then the block bytes. */
#include <stdlib.h>
#include <string.h>

#include "vmware.h"

#define HEADER_SIZE 12u
#define GROUP_SIZE 80u
#define GROUP_NAME 64u
#define BLOCK_COMPRESSED 62u
#define BLOCK 63u

enum { R_PPN, R_PAGENUM, R_SIZE, R_FIELDS };

static const char *const region_tags[R_FIELDS] = {"regionPPN", "regionPageNum", "regionSize"};

typedef struct region_slot {
    uint64_t v[R_FIELDS];
    uint8_t have;                /* bit k: field k seen */
} region_slot;

typedef struct walk {
    ms_source *src;
    uint64_t end;                /* one past the memory group's last byte */
    unsigned block_size_width;
    int have_count;
    uint64_t count;
    region_slot *slots;          /* MS_VMWARE_MAX_REGIONS */
    size_t max_index;            /* one past the highest region index seen */
} walk;

/* What one tag holds; `value` only for value sizes 1, 2, 4 and 8. */
typedef struct tag {
    uint64_t offset;
    uint8_t name_len;
    char name[256];
    unsigned nindx;
    uint32_t index[3];
    unsigned value_size;
    int has_int;
    uint64_t value;
} tag;

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i > 0; i--)
        v = v << 8 | p[i - 1];
    return v;
}

int ms_vmware_meta_detect(ms_source *src)
{
    uint8_t h[4];
    if (src->size < HEADER_SIZE || ms_source_read(src, 0, h, sizeof h) != MS_OK)
        return 0;
    switch ((uint32_t)le(h, 4)) {
    case 0xbed2bed0u:
    case 0xbad1bad1u:
    case 0xbed2bed2u:
    case 0xbed3bed3u:
        return 1;
    }
    return 0;
}

static ms_status take(walk *w, uint64_t *off, void *buf, uint64_t len, const tag *t, const char *what)
{
    if (*off > w->end || len > w->end - *off)
        return ms_fail(MS_ERR_TRUNCATED,
                       "the %s of tag '%.*s' at offset 0x%llx needs 0x%llx bytes, but the memory group ends at 0x%llx",
                       what, (int)t->name_len, t->name, (unsigned long long)t->offset, (unsigned long long)len,
                       (unsigned long long)w->end);
    if (buf != NULL) {
        ms_status st = ms_source_read(w->src, *off, buf, (size_t)len);
        if (st != MS_OK)
            return st;
    }
    *off += len;
    return MS_OK;
}

/* Read the tag at *off (not the end mark) and move past it. */
static ms_status read_tag(walk *w, uint64_t *off, uint8_t flags, uint8_t name_len, tag *t)
{
    memset(t, 0, sizeof *t);
    t->offset = *off - 2;
    t->name_len = name_len;
    t->nindx = flags >> 6;
    t->value_size = flags & 0x3f;
    ms_status st = take(w, off, t->name, name_len, t, "name");
    if (st != MS_OK)
        return st;
    uint8_t raw[61];
    if ((st = take(w, off, raw, 4u * t->nindx, t, "indices")) != MS_OK)
        return st;
    for (unsigned i = 0; i < t->nindx; i++)
        t->index[i] = (uint32_t)le(raw + 4 * i, 4);

    if (t->value_size == BLOCK || t->value_size == BLOCK_COMPRESSED) {
        unsigned n = w->block_size_width;
        if ((st = take(w, off, raw, 2u * n + 2u, t, "block header")) != MS_OK)
            return st;
        uint64_t bytes = le(raw, n), pad = le(raw + 2 * n, 2);
        if (bytes > UINT64_MAX - pad)
            return ms_fail(MS_ERR_FORMAT, "block tag '%.*s' at offset 0x%llx has an impossible size 0x%llx",
                           (int)name_len, t->name, (unsigned long long)t->offset, (unsigned long long)bytes);
        return take(w, off, NULL, pad + bytes, t, "block");
    }
    if ((st = take(w, off, raw, t->value_size, t, "value")) != MS_OK)
        return st;
    if (t->value_size == 1 || t->value_size == 2 || t->value_size == 4 || t->value_size == 8) {
        t->has_int = 1;
        t->value = le(raw, t->value_size);
    }
    return MS_OK;
}

static int name_is(const tag *t, const char *name)
{
    return strlen(name) == t->name_len && memcmp(t->name, name, t->name_len) == 0;
}

static ms_status need_int(const tag *t, unsigned nindx)
{
    if (t->nindx != nindx)
        return ms_fail(MS_ERR_FORMAT, "tag '%.*s' at offset 0x%llx has %u indices, expected %u", (int)t->name_len,
                       t->name, (unsigned long long)t->offset, t->nindx, nindx);
    if (!t->has_int)
        return ms_fail(MS_ERR_FORMAT, "tag '%.*s' at offset 0x%llx has a %u-byte value, expected a 1, 2, 4 or 8-byte number",
                       (int)t->name_len, t->name, (unsigned long long)t->offset, t->value_size);
    return MS_OK;
}

static ms_status record(walk *w, const tag *t)
{
    ms_status st;
    if (name_is(t, "regionsCount")) {
        if ((st = need_int(t, 0)) != MS_OK)
            return st;
        if (w->have_count)
            return ms_fail(MS_ERR_FORMAT, "regionsCount appears twice (again at offset 0x%llx)",
                           (unsigned long long)t->offset);
        if (t->value > MS_VMWARE_MAX_REGIONS)
            return ms_fail(MS_ERR_LIMIT, "regionsCount is %llu; at most %u regions are accepted",
                           (unsigned long long)t->value, MS_VMWARE_MAX_REGIONS);
        w->have_count = 1;
        w->count = t->value;
        return MS_OK;
    }
    for (unsigned k = 0; k < R_FIELDS; k++) {
        if (!name_is(t, region_tags[k]))
            continue;
        if ((st = need_int(t, 1)) != MS_OK)
            return st;
        uint32_t i = t->index[0];
        if (i >= MS_VMWARE_MAX_REGIONS)
            return ms_fail(MS_ERR_LIMIT, "%s[%u] at offset 0x%llx: region indices stop at %u", region_tags[k], i,
                           (unsigned long long)t->offset, MS_VMWARE_MAX_REGIONS - 1);
        region_slot *s = &w->slots[i];
        if (s->have & (1u << k))
            return ms_fail(MS_ERR_FORMAT, "%s[%u] appears twice (again at offset 0x%llx)", region_tags[k], i,
                           (unsigned long long)t->offset);
        s->have |= (uint8_t)(1u << k);
        s->v[k] = t->value;
        if ((size_t)i + 1 > w->max_index)
            w->max_index = (size_t)i + 1;
    }
    return MS_OK;
}

static ms_status walk_tags(walk *w, uint64_t off)
{
    for (size_t n = 0;; n++) {
        if (off == w->end)
            return MS_OK;    /* the group's size ends it even without an end mark */
        if (n == MS_VMWARE_MAX_TAGS)
            return ms_fail(MS_ERR_LIMIT, "the memory group has more than %u tags", MS_VMWARE_MAX_TAGS);
        uint8_t h[2];
        if (w->end - off < 2)
            return ms_fail(MS_ERR_TRUNCATED, "the memory group ends at 0x%llx inside tag %zu",
                           (unsigned long long)w->end, n);
        ms_status st = ms_source_read(w->src, off, h, 2);
        if (st != MS_OK)
            return st;
        off += 2;
        if (h[0] == 0 && h[1] == 0)
            return MS_OK;
        if (h[1] == 0)
            return ms_fail(MS_ERR_FORMAT, "tag %zu at offset 0x%llx has flags 0x%02x but an empty name", n,
                           (unsigned long long)(off - 2), h[0]);
        tag t;
        if ((st = read_tag(w, &off, h[0], h[1], &t)) != MS_OK)
            return st;
        if ((st = record(w, &t)) != MS_OK)
            return st;
    }
}

/* The memory group's extent, or *found = 0 when the file has none. */
static ms_status find_memory_group(ms_source *src, uint64_t *start, uint64_t *end, int *found)
{
    uint8_t h[HEADER_SIZE];
    ms_status st = ms_source_read(src, 0, h, sizeof h);
    if (st != MS_OK)
        return st;
    uint32_t groups = (uint32_t)le(h + 8, 4);
    if (groups > MS_VMWARE_MAX_GROUPS)
        return ms_fail(MS_ERR_LIMIT, "the header lists %u groups; at most %u are accepted", groups,
                       MS_VMWARE_MAX_GROUPS);
    uint64_t table_end = HEADER_SIZE + (uint64_t)groups * GROUP_SIZE;
    if (table_end > src->size)
        return ms_fail(MS_ERR_TRUNCATED, "the table of %u groups needs 0x%llx bytes, but the file has 0x%llx", groups,
                       (unsigned long long)table_end, (unsigned long long)src->size);
    *found = 0;
    for (uint32_t g = 0; g < groups; g++) {
        uint8_t e[GROUP_SIZE];
        if ((st = ms_source_read(src, HEADER_SIZE + (uint64_t)g * GROUP_SIZE, e, sizeof e)) != MS_OK)
            return st;
        if (memcmp(e, "memory", 7) != 0)
            continue;
        uint64_t off = le(e + GROUP_NAME, 8), size = le(e + GROUP_NAME + 8, 8);
        if (off >= src->size)
            return ms_fail(MS_ERR_TRUNCATED, "the memory group starts at 0x%llx, past the end of the file (0x%llx)",
                           (unsigned long long)off, (unsigned long long)src->size);
        *start = off;
        *end = (size == 0 || size > src->size - off) ? src->size : off + size;
        *found = 1;
        return MS_OK;
    }
    return MS_OK;
}

static ms_status collect(const walk *w, ms_vmware_meta *out)
{
    size_t count = (size_t)w->count;
    if (w->max_index > count) {
        const region_slot *s = &w->slots[w->max_index - 1];
        unsigned k = 0;
        while (!(s->have & (1u << k)))
            k++;
        return ms_fail(MS_ERR_FORMAT, "%s[%zu] is past regionsCount (%zu)", region_tags[k], w->max_index - 1,
                       count);
    }
    for (size_t i = 0; i < count; i++)
        for (unsigned k = 0; k < R_FIELDS; k++)
            if (!(w->slots[i].have & (1u << k)))
                return ms_fail(MS_ERR_FORMAT, "region %zu of %zu has no %s tag", i, count, region_tags[k]);
    out->count = count;
    if (count == 0)
        return MS_OK;
    out->regions = malloc(count * sizeof *out->regions);
    if (out->regions == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for %zu VMware regions", count);
    for (size_t i = 0; i < count; i++)
        out->regions[i] = (ms_vmware_region){w->slots[i].v[R_PPN], w->slots[i].v[R_PAGENUM], w->slots[i].v[R_SIZE]};
    return MS_OK;
}

ms_status ms_vmware_meta_parse(ms_source *src, ms_vmware_meta *out)
{
    memset(out, 0, sizeof *out);
    uint8_t h[4];
    if (src->size < HEADER_SIZE)
        return ms_fail(MS_ERR_TRUNCATED, "the file has %llu bytes, fewer than its %u-byte header",
                       (unsigned long long)src->size, HEADER_SIZE);
    ms_status st = ms_source_read(src, 0, h, sizeof h);
    if (st != MS_OK)
        return st;
    uint32_t magic = (uint32_t)le(h, 4);
    if (!ms_vmware_meta_detect(src))
        return ms_fail(MS_ERR_FORMAT,
                       "expected a VMware checkpoint magic (0xbed2bed0, 0xbad1bad1, 0xbed2bed2 or 0xbed3bed3), found 0x%08x",
                       magic);
    uint64_t start = 0, end = 0;
    int found;
    if ((st = find_memory_group(src, &start, &end, &found)) != MS_OK || !found) {
        out->magic = magic;
        return st;
    }
    walk w = {src, end, (magic & 0xf) == 0 ? 4u : 8u, 0, 0, NULL, 0};
    w.slots = calloc(MS_VMWARE_MAX_REGIONS, sizeof *w.slots);
    if (w.slots == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory reading the VMware memory group");
    st = walk_tags(&w, start);
    if (st == MS_OK)
        st = collect(&w, out);
    free(w.slots);
    if (st != MS_OK) {
        ms_vmware_meta_free(out);
        return st;
    }
    out->magic = magic;
    return MS_OK;
}

void ms_vmware_meta_free(ms_vmware_meta *meta)
{
    free(meta->regions);
    meta->regions = NULL;
    meta->count = 0;
}
