/* Building the gzip checkpoint index in one decompression pass. */
#include "gzip_index.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip_stream.h"

void ms_gz_limits_default(ms_gz_limits *lim)
{
    lim->spacing = 1u << 20;
    lim->window_budget = 16u << 20;
    lim->max_points = 8192;
}

void ms_gz_index_free(ms_gz_index *idx)
{
    for (size_t i = 0; i < idx->count; i++)
        free(idx->points[i].packed);
    free(idx->points);
    memset(idx, 0, sizeof *idx);
}

const ms_gz_point *ms_gz_index_find(const ms_gz_index *idx, uint64_t off)
{
    size_t lo = 0, hi = idx->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->points[mid].out <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? NULL : &idx->points[lo - 1];
}

ms_status ms_gz_point_window(const ms_gz_point *p, uint8_t *window)
{
    uLongf n = MS_GZ_WINDOW;
    if (p->window_len == 0)
        return MS_OK;
    if (uncompress(window, &n, p->packed, p->packed_len) != Z_OK || n != p->window_len)
        return ms_fail(MS_ERR_FORMAT, "gzip index window at decompressed offset %llu is corrupt",
                       (unsigned long long)p->out);
    return MS_OK;
}

/* Keep every point at least `spacing` after the previous kept one. */
static void thin(ms_gz_index *idx)
{
    size_t kept = 1;
    for (size_t i = 1; i < idx->count; i++) {
        ms_gz_point *p = &idx->points[i];
        if (p->out - idx->points[kept - 1].out >= idx->spacing) {
            idx->points[kept++] = *p;
        } else {
            idx->packed_total -= p->packed_len;
            free(p->packed);
        }
    }
    idx->count = kept;
}

static ms_status add_point(ms_gz_index *idx, uint64_t out, uint64_t in, int bits, const uint8_t *ring, size_t ring_pos,
                           uint8_t *scratch)
{
    uint8_t window[MS_GZ_WINDOW];
    size_t wlen = out < MS_GZ_WINDOW ? (size_t)out : MS_GZ_WINDOW;
    if (out < MS_GZ_WINDOW) {
        memcpy(window, ring, wlen);
    } else {
        memcpy(window, ring + ring_pos, MS_GZ_WINDOW - ring_pos);
        memcpy(window + (MS_GZ_WINDOW - ring_pos), ring, ring_pos);
    }
    uLongf plen = compressBound(MS_GZ_WINDOW);
    if (wlen > 0 && compress2(scratch, &plen, window, wlen, 1) != Z_OK)
        return ms_fail(MS_ERR_INTERNAL, "cannot compress a gzip index window");
    if (wlen == 0)
        plen = 0;
    uint8_t *packed = NULL;
    if (plen > 0) {
        packed = malloc(plen);
        if (packed == NULL)
            return ms_fail(MS_ERR_NOMEM, "out of memory for the gzip index");
        memcpy(packed, scratch, plen);
    }
    if (idx->count == idx->capacity) {
        size_t cap = idx->capacity ? idx->capacity * 2 : 64;
        ms_gz_point *pts = realloc(idx->points, cap * sizeof *pts);
        if (pts == NULL) {
            free(packed);
            return ms_fail(MS_ERR_NOMEM, "out of memory for the gzip index");
        }
        idx->points = pts;
        idx->capacity = cap;
    }
    idx->points[idx->count++] = (ms_gz_point){out, in, (uint32_t)wlen, (uint32_t)plen, (uint8_t)bits, packed};
    idx->packed_total += plen;
    return MS_OK;
}

static ms_status build_pass(ms_gz_stream *s, const ms_gz_limits *lim, ms_gz_index *idx, uint8_t *ring,
                            uint8_t *scratch)
{
    size_t pos = 0;
    int stalls = 0;
    ms_status st = ms_gz_stream_start(s);
    while (st == MS_OK && s->state != MS_GZ_EOF) {
        uint64_t in_off;
        int bits;
        if (ms_gz_stream_boundary(s, &in_off, &bits) &&
            (idx->count == 0 || s->out_pos - idx->points[idx->count - 1].out >= idx->spacing)) {
            if ((st = add_point(idx, s->out_pos, in_off, bits, ring, pos, scratch)) != MS_OK)
                break;
            while (idx->count > lim->max_points || idx->packed_total > lim->window_budget) {
                idx->spacing *= 2;
                thin(idx);
                if (idx->count == 1)
                    break;
            }
        }
        uint64_t in_before = s->in_next - s->z.avail_in;
        size_t got;
        st = ms_gz_stream_step(s, ring + pos, MS_GZ_WINDOW - pos, Z_BLOCK, &got);
        pos = (pos + got) % MS_GZ_WINDOW;
        if (got == 0 && s->in_next - s->z.avail_in == in_before && s->state == MS_GZ_DEFLATE && ++stalls > 64)
            st = ms_fail(MS_ERR_INTERNAL, "gzip decompression stalled at compressed offset %llu",
                         (unsigned long long)in_before);
        else if (got > 0)
            stalls = 0;
        if (st == MS_OK && s->out_pos > MS_GZ_MAX_SIZE)
            st = ms_fail(MS_ERR_LIMIT, "gzip file decompresses to more than %llu bytes; refusing it as a memory image",
                         (unsigned long long)MS_GZ_MAX_SIZE);
    }
    if (st == MS_OK && s->out_pos == 0)
        st = ms_fail(MS_ERR_FORMAT, "gzip file decompresses to 0 bytes, expected a memory image");
    idx->size = s->out_pos;
    return st;
}

ms_status ms_gz_index_build(ms_source *gz, const ms_gz_limits *lim, ms_gz_index *idx)
{
    memset(idx, 0, sizeof *idx);
    idx->spacing = lim->spacing ? lim->spacing : 1;
    uint8_t *ring = malloc(MS_GZ_WINDOW);
    uint8_t *scratch = malloc(compressBound(MS_GZ_WINDOW));
    ms_gz_stream s;
    ms_status st = MS_ERR_NOMEM;
    if (ring == NULL || scratch == NULL) {
        st = ms_fail(MS_ERR_NOMEM, "out of memory building the gzip index");
    } else if ((st = ms_gz_stream_init(&s, gz, 1)) == MS_OK) {
        st = build_pass(&s, lim, idx, ring, scratch);
        ms_gz_stream_free(&s);
    }
    free(ring);
    free(scratch);
    if (st != MS_OK)
        ms_gz_index_free(idx);
    return st;
}
