/* The gzip index cache file (<image>.msidx).  All fields little-endian:
 *
 *   0  "MSGZIDX\0"        8  u32 version        12 u32 point count
 *   16 u64 gzip size      24 u32 head crc       28 u32 tail crc
 *   32 u32 sample crc     36 u32 zero           40 u64 decompressed size
 *   48 u64 spacing        56 u32 crc32 of bytes 0..55   60 u32 zero
 *   64 point table, 32 bytes each: u64 out, u64 in, u32 window_len,
 *      u32 packed_len, u8 bits, 7 zero bytes
 *   then the packed windows in table order, then u32 crc32 of everything
 *   from offset 64.
 *
 * The file is untrusted: anything that does not check out is ignored and
 * the index rebuilt. */
#include "gzip_index.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gzip_stream.h"

#define IDX_MAGIC "MSGZIDX"
#define IDX_VERSION 1u
#define IDX_HEADER 64u
#define IDX_RECORD 32u
#define FP_SPAN (64u * 1024u)
#define FP_SAMPLES 16u
#define FP_SAMPLE (4u * 1024u)

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static ms_status crc_range(ms_source *gz, uint64_t off, size_t len, uint32_t *crc)
{
    uint8_t buf[4096];
    while (len > 0) {
        size_t n = len < sizeof buf ? len : sizeof buf;
        ms_status st = ms_source_read(gz, off, buf, n);
        if (st != MS_OK)
            return st;
        *crc = (uint32_t)crc32(*crc, buf, (uInt)n);
        off += n;
        len -= n;
    }
    return MS_OK;
}

ms_status ms_gz_fingerprint_compute(ms_source *gz, ms_gz_fingerprint *fp)
{
    uint64_t size = gz->size;
    size_t span = size < FP_SPAN ? (size_t)size : FP_SPAN;
    size_t sample = size < FP_SAMPLE ? (size_t)size : FP_SAMPLE;
    memset(fp, 0, sizeof *fp);
    fp->size = size;
    ms_status st = crc_range(gz, 0, span, &fp->head_crc);
    if (st == MS_OK)
        st = crc_range(gz, size - span, span, &fp->tail_crc);
    for (unsigned i = 0; st == MS_OK && i < FP_SAMPLES; i++)
        st = crc_range(gz, (size - sample) / (FP_SAMPLES - 1) * i, sample, &fp->sample_crc);
    return st;
}

static void encode_header(uint8_t *h, const ms_gz_fingerprint *fp, const ms_gz_index *idx)
{
    memset(h, 0, IDX_HEADER);
    memcpy(h, IDX_MAGIC, sizeof IDX_MAGIC);
    put32(h + 8, IDX_VERSION);
    put32(h + 12, (uint32_t)idx->count);
    put64(h + 16, fp->size);
    put32(h + 24, fp->head_crc);
    put32(h + 28, fp->tail_crc);
    put32(h + 32, fp->sample_crc);
    put64(h + 40, idx->size);
    put64(h + 48, idx->spacing);
    put32(h + 56, (uint32_t)crc32(0L, h, 56));
}

int ms_gz_index_save(const char *path, const ms_gz_fingerprint *fp, const ms_gz_index *idx)
{
    if (path == NULL || idx->count == 0 || idx->count > MS_GZ_MAX_POINTS)
        return 0;
    size_t n = strlen(path) + sizeof ".XXXXXX";
    char *tmp = malloc(n);
    if (tmp == NULL)
        return 0;
    snprintf(tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return 0;
    }
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return 0;
    }
    uint8_t h[IDX_HEADER];
    encode_header(h, fp, idx);
    int ok = fwrite(h, 1, sizeof h, f) == sizeof h;
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    for (size_t i = 0; ok && i < idx->count; i++) {
        const ms_gz_point *p = &idx->points[i];
        uint8_t r[IDX_RECORD] = {0};
        put64(r, p->out);
        put64(r + 8, p->in);
        put32(r + 16, p->window_len);
        put32(r + 20, p->packed_len);
        r[24] = p->bits;
        crc = (uint32_t)crc32(crc, r, sizeof r);
        ok = fwrite(r, 1, sizeof r, f) == sizeof r;
    }
    for (size_t i = 0; ok && i < idx->count; i++) {
        const ms_gz_point *p = &idx->points[i];
        if (p->packed_len == 0)
            continue;
        crc = (uint32_t)crc32(crc, p->packed, p->packed_len);
        ok = fwrite(p->packed, 1, p->packed_len, f) == p->packed_len;
    }
    uint8_t c[4];
    put32(c, crc);
    ok = ok && fwrite(c, 1, sizeof c, f) == sizeof c;
    ok = (fclose(f) == 0) && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok;
}

/* Checks on one table record against the header and the previous point. */
static int record_ok(const ms_gz_point *p, const ms_gz_point *prev, uint64_t size, uint64_t gz_size)
{
    uint64_t want_window = p->out < MS_GZ_WINDOW ? p->out : MS_GZ_WINDOW;
    if (p->out >= size || p->in > gz_size || p->bits > 7 || (p->bits > 0 && p->in == 0))
        return 0;
    if (p->window_len != want_window || p->packed_len > compressBound(MS_GZ_WINDOW))
        return 0;
    if ((p->window_len == 0) != (p->packed_len == 0))
        return 0;
    if (prev == NULL)
        return p->out == 0;
    return p->out > prev->out && p->in >= prev->in;
}

static int load_file(FILE *f, uint64_t file_size, const ms_gz_fingerprint *fp, ms_gz_index *idx)
{
    uint8_t h[IDX_HEADER];
    if (file_size < IDX_HEADER + IDX_RECORD + 4 || fread(h, 1, sizeof h, f) != sizeof h)
        return 0;
    if (memcmp(h, IDX_MAGIC, sizeof IDX_MAGIC) != 0 || get32(h + 8) != IDX_VERSION ||
        get32(h + 56) != (uint32_t)crc32(0L, h, 56))
        return 0;
    uint32_t count = get32(h + 12);
    idx->size = get64(h + 40);
    idx->spacing = get64(h + 48);
    if (get64(h + 16) != fp->size || get32(h + 24) != fp->head_crc || get32(h + 28) != fp->tail_crc ||
        get32(h + 32) != fp->sample_crc)
        return 0;
    if (count == 0 || count > MS_GZ_MAX_POINTS || idx->size == 0 || idx->size > MS_GZ_MAX_SIZE ||
        (file_size - IDX_HEADER - 4) / IDX_RECORD < count)
        return 0;
    idx->points = calloc(count, sizeof *idx->points);
    if (idx->points == NULL)
        return 0;
    idx->capacity = count;
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    uint64_t packed_sum = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t r[IDX_RECORD];
        if (fread(r, 1, sizeof r, f) != sizeof r)
            return 0;
        crc = (uint32_t)crc32(crc, r, sizeof r);
        ms_gz_point *p = &idx->points[i];
        *p = (ms_gz_point){get64(r), get64(r + 8), get32(r + 16), get32(r + 20), r[24], NULL};
        if (!record_ok(p, i ? p - 1 : NULL, idx->size, fp->size))
            return 0;
        packed_sum += p->packed_len;
    }
    if (file_size != IDX_HEADER + (uint64_t)count * IDX_RECORD + packed_sum + 4)
        return 0;
    uint8_t *window = malloc(MS_GZ_WINDOW);
    if (window == NULL)
        return 0;
    int ok = 1;
    for (uint32_t i = 0; ok && i < count; i++) {
        ms_gz_point *p = &idx->points[i];
        idx->count = i + 1;
        if (p->packed_len == 0)
            continue;
        p->packed = malloc(p->packed_len);
        ok = p->packed != NULL && fread(p->packed, 1, p->packed_len, f) == p->packed_len;
        if (ok) {
            crc = (uint32_t)crc32(crc, p->packed, p->packed_len);
            idx->packed_total += p->packed_len;
            uLongf n = MS_GZ_WINDOW;
            ok = uncompress(window, &n, p->packed, p->packed_len) == Z_OK && n == p->window_len;
        }
    }
    free(window);
    uint8_t c[4];
    return ok && fread(c, 1, sizeof c, f) == sizeof c && get32(c) == crc;
}

int ms_gz_index_load(const char *path, const ms_gz_fingerprint *fp, ms_gz_index *idx)
{
    memset(idx, 0, sizeof *idx);
    if (path == NULL)
        return 0;
    int saved_errno = errno;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        errno = saved_errno;
        return 0;
    }
    struct stat st;
    int ok = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && load_file(f, (uint64_t)st.st_size, fp, idx);
    fclose(f);
    if (!ok)
        ms_gz_index_free(idx);
    errno = saved_errno;
    return ok;
}
