/* A gzip file as a random-access byte source: reads resume inflate at the
 * nearest checkpoint, and decompressed chunks are kept in a small LRU cache.
 * The inflate stream stays live between reads, so a sequential reader only
 * pays for each byte once. */
#include "source.h"

#include <stdlib.h>
#include <string.h>

#include "gzip_index.h"
#include "gzip_stream.h"

#define CHUNK_SIZE (256u * 1024u)
#define CACHE_SLOTS 16

typedef struct gz_slot {
    uint64_t chunk;
    uint64_t last_use;
    size_t len;
    int valid;
    uint8_t *data;
} gz_slot;

typedef struct gz_ctx {
    ms_source *inner;
    ms_gz_index index;
    ms_gz_stream stream;
    int stream_live;
    uint64_t tick;
    gz_slot slots[CACHE_SLOTS];
    uint8_t window[MS_GZ_WINDOW];
} gz_ctx;

/* Inflate exactly `len` bytes (into `out`, or discarded through `out` as
 * scratch space of `scratch_len` bytes when `keep` is 0). */
static ms_status produce(gz_ctx *g, uint8_t *out, size_t len, size_t scratch_len, int keep)
{
    ms_gz_stream *s = &g->stream;
    size_t done = 0;
    int stalls = 0;
    while (done < len) {
        size_t want = len - done;
        uint8_t *dst = out + done;
        if (!keep) {
            dst = out;
            want = want < scratch_len ? want : scratch_len;
        }
        size_t got;
        ms_status st = ms_gz_stream_step(s, dst, want, Z_NO_FLUSH, &got);
        if (st != MS_OK)
            return st;
        if (s->state == MS_GZ_EOF && done + got < len)
            return ms_fail(MS_ERR_FORMAT, "gzip stream ended at %llu decompressed bytes, but its index says %llu (the file changed?)",
                           (unsigned long long)s->out_pos, (unsigned long long)g->index.size);
        stalls = got ? 0 : stalls + 1;
        if (stalls > 64)
            return ms_fail(MS_ERR_INTERNAL, "gzip decompression stalled at decompressed offset %llu",
                           (unsigned long long)s->out_pos);
        done += got;
    }
    return MS_OK;
}

static ms_status fill_slot(gz_ctx *g, gz_slot *slot, uint64_t chunk)
{
    uint64_t target = chunk * CHUNK_SIZE;
    uint64_t left = g->index.size - target;
    size_t len = left < CHUNK_SIZE ? (size_t)left : CHUNK_SIZE;
    if (slot->data == NULL && (slot->data = malloc(CHUNK_SIZE)) == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for the gzip chunk cache");
    slot->valid = 0;

    const ms_gz_point *p = ms_gz_index_find(&g->index, target);
    if (p == NULL)
        return ms_fail(MS_ERR_INTERNAL, "gzip index has no point at offset 0");
    ms_gz_stream *s = &g->stream;
    ms_status st = MS_OK;
    if (!g->stream_live || s->out_pos > target || s->out_pos < p->out) {
        g->stream_live = 0;
        st = ms_gz_point_window(p, g->window);
        if (st == MS_OK)
            st = ms_gz_stream_resume(s, p->out, p->in, p->bits, g->window, p->window_len);
        if (st != MS_OK)
            return st;
        g->stream_live = 1;
    }
    st = produce(g, slot->data, (size_t)(target - s->out_pos), CHUNK_SIZE, 0);
    if (st == MS_OK)
        st = produce(g, slot->data, len, len, 1);
    if (st != MS_OK) {
        g->stream_live = 0;
        return st;
    }
    slot->chunk = chunk;
    slot->len = len;
    slot->valid = 1;
    return MS_OK;
}

static ms_status get_slot(gz_ctx *g, uint64_t chunk, gz_slot **out)
{
    gz_slot *victim = &g->slots[0];
    for (int i = 0; i < CACHE_SLOTS; i++) {
        gz_slot *s = &g->slots[i];
        if (s->valid && s->chunk == chunk) {
            s->last_use = ++g->tick;
            *out = s;
            return MS_OK;
        }
        if (!s->valid || (victim->valid && s->last_use < victim->last_use))
            victim = s;
    }
    ms_status st = fill_slot(g, victim, chunk);
    if (st != MS_OK)
        return st;
    victim->last_use = ++g->tick;
    *out = victim;
    return MS_OK;
}

static ms_status gz_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    gz_ctx *g = ctx;
    uint8_t *dst = buf;
    while (len > 0) {
        gz_slot *slot;
        ms_status st = get_slot(g, off / CHUNK_SIZE, &slot);
        if (st != MS_OK)
            return st;
        size_t in_chunk = (size_t)(off % CHUNK_SIZE);
        if (in_chunk >= slot->len)
            return ms_fail(MS_ERR_INTERNAL, "gzip read at %llu past the decompressed size", (unsigned long long)off);
        size_t n = slot->len - in_chunk < len ? slot->len - in_chunk : len;
        memcpy(dst, slot->data + in_chunk, n);
        dst += n;
        off += n;
        len -= n;
    }
    return MS_OK;
}

static void gz_destroy(void *ctx)
{
    gz_ctx *g = ctx;
    for (int i = 0; i < CACHE_SLOTS; i++)
        free(g->slots[i].data);
    ms_gz_stream_free(&g->stream);
    ms_gz_index_free(&g->index);
    ms_source_close(g->inner);
    free(g);
}

static const ms_source_ops gz_ops = {gz_read, gz_destroy};

ms_status ms_source_open_gzip(ms_source *inner, const char *index_path, ms_source **out)
{
    gz_ctx *g = calloc(1, sizeof *g);
    ms_source *src = calloc(1, sizeof *src);
    if (g == NULL || src == NULL) {
        free(g);
        free(src);
        ms_source_close(inner);
        return ms_fail(MS_ERR_NOMEM, "out of memory opening a gzip image");
    }
    g->inner = inner;
    ms_gz_fingerprint fp;
    ms_status st = ms_gz_fingerprint_compute(inner, &fp);
    if (st == MS_OK && !ms_gz_index_load(index_path, &fp, &g->index)) {
        ms_gz_limits lim;
        ms_gz_limits_default(&lim);
        st = ms_gz_index_build(inner, &lim, &g->index);
        if (st == MS_OK)
            ms_gz_index_save(index_path, &fp, &g->index);
    }
    if (st == MS_OK)
        st = ms_gz_stream_init(&g->stream, inner, 0);
    if (st != MS_OK) {
        ms_gz_index_free(&g->index);
        free(g);
        free(src);
        ms_source_close(inner);
        return st;
    }
    src->size = g->index.size;
    src->map = NULL;
    src->compressed = 1;
    src->ops = &gz_ops;
    src->ctx = g;
    *out = src;
    return MS_OK;
}
