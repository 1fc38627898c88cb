/* Member-by-member raw inflate over a gzip file (RFC 1952). */
#include "gzip_stream.h"

#include <stdlib.h>
#include <string.h>

#define INBUF_SIZE (64u * 1024u)
#define MAX_HEADER_FIELD (1u << 20)   /* FNAME / FCOMMENT longer than this is not a real image */

#define FLG_FHCRC 0x02
#define FLG_FEXTRA 0x04
#define FLG_FNAME 0x08
#define FLG_FCOMMENT 0x10
#define FLG_RESERVED 0xe0

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ms_status ms_gz_stream_init(ms_gz_stream *s, ms_source *in, int verify)
{
    memset(s, 0, sizeof *s);
    s->in = in;
    s->verify = verify;
    if (in->map == NULL) {
        s->inbuf = malloc(INBUF_SIZE);
        if (s->inbuf == NULL)
            return ms_fail(MS_ERR_NOMEM, "out of memory for the gzip input buffer");
    }
    if (inflateInit2(&s->z, -15) != Z_OK) {
        free(s->inbuf);
        s->inbuf = NULL;
        return ms_fail(MS_ERR_NOMEM, "cannot initialise zlib inflate");
    }
    s->z_ready = 1;
    return MS_OK;
}

void ms_gz_stream_free(ms_gz_stream *s)
{
    if (s->z_ready)
        inflateEnd(&s->z);
    free(s->inbuf);
    memset(s, 0, sizeof *s);
}

/* Skip a zero-terminated header field starting at *pos. */
static ms_status skip_cstring(ms_gz_stream *s, uint64_t *pos, const char *what)
{
    uint8_t buf[256];
    uint64_t start = *pos, size = s->in->size;
    while (*pos < size) {
        if (*pos - start > MAX_HEADER_FIELD)
            return ms_fail(MS_ERR_FORMAT, "gzip %s field at offset %llu is longer than %u bytes", what,
                           (unsigned long long)start, MAX_HEADER_FIELD);
        size_t n = size - *pos < sizeof buf ? (size_t)(size - *pos) : sizeof buf;
        ms_status st = ms_source_read(s->in, *pos, buf, n);
        if (st != MS_OK)
            return st;
        const uint8_t *nul = memchr(buf, 0, n);
        if (nul != NULL) {
            *pos += (uint64_t)(nul - buf) + 1;
            return MS_OK;
        }
        *pos += n;
    }
    return ms_fail(MS_ERR_TRUNCATED, "gzip stream is truncated in the %s field of the member at offset %llu", what,
                   (unsigned long long)s->member_off);
}

/* Parse the member header at `off` and position at its deflate data. */
static ms_status start_member(ms_gz_stream *s, uint64_t off)
{
    uint64_t size = s->in->size;
    uint8_t h[10];
    s->member_off = off;
    if (off > size || size - off < sizeof h)
        return ms_fail(MS_ERR_TRUNCATED, "gzip stream is truncated in the member header at offset %llu (after %llu decompressed bytes)",
                       (unsigned long long)off, (unsigned long long)s->out_pos);
    ms_status st = ms_source_read(s->in, off, h, sizeof h);
    if (st != MS_OK)
        return st;
    if (h[0] != 0x1f || h[1] != 0x8b)
        return ms_fail(MS_ERR_FORMAT, "expected a gzip member (1f 8b) at offset %llu, found %02x %02x",
                       (unsigned long long)off, h[0], h[1]);
    if (h[2] != 8)
        return ms_fail(MS_ERR_UNSUPPORTED, "gzip member at offset %llu uses compression method %u, only deflate (8) is known",
                       (unsigned long long)off, h[2]);
    if (h[3] & FLG_RESERVED)
        return ms_fail(MS_ERR_FORMAT, "gzip member at offset %llu has reserved flag bits set (flags 0x%02x)",
                       (unsigned long long)off, h[3]);
    uint64_t pos = off + sizeof h;
    if (h[3] & FLG_FEXTRA) {
        uint8_t x[2];
        if (size - pos < 2)
            return ms_fail(MS_ERR_TRUNCATED, "gzip stream is truncated in the extra field of the member at offset %llu",
                           (unsigned long long)off);
        if ((st = ms_source_read(s->in, pos, x, 2)) != MS_OK)
            return st;
        pos += 2 + ((uint64_t)x[0] | (uint64_t)x[1] << 8);
    }
    if ((h[3] & FLG_FNAME) && (st = skip_cstring(s, &pos, "file name")) != MS_OK)
        return st;
    if ((h[3] & FLG_FCOMMENT) && (st = skip_cstring(s, &pos, "comment")) != MS_OK)
        return st;
    if (h[3] & FLG_FHCRC)
        pos += 2;
    if (pos >= size)
        return ms_fail(MS_ERR_TRUNCATED, "gzip stream is truncated: the member at offset %llu has a header but no data",
                       (unsigned long long)off);
    if (inflateReset(&s->z) != Z_OK)
        return ms_fail(MS_ERR_INTERNAL, "zlib inflateReset failed");
    s->z.avail_in = 0;
    s->in_next = pos;
    s->state = MS_GZ_DEFLATE;
    s->fresh = 1;
    s->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    s->member_len = 0;
    return MS_OK;
}

ms_status ms_gz_stream_start(ms_gz_stream *s)
{
    s->out_pos = 0;
    return start_member(s, 0);
}

ms_status ms_gz_stream_resume(ms_gz_stream *s, uint64_t out_pos, uint64_t in_off, int bits,
                              const uint8_t *window, size_t window_len)
{
    s->state = MS_GZ_IDLE;
    if (inflateReset(&s->z) != Z_OK)
        return ms_fail(MS_ERR_INTERNAL, "zlib inflateReset failed");
    if (in_off > s->in->size || bits < 0 || bits > 7 || (bits > 0 && in_off == 0) || window_len > MS_GZ_WINDOW)
        return ms_fail(MS_ERR_FORMAT, "gzip checkpoint (compressed offset %llu, %d bits) lies outside the %llu-byte file",
                       (unsigned long long)in_off, bits, (unsigned long long)s->in->size);
    if (bits > 0) {
        uint8_t b;
        ms_status st = ms_source_read(s->in, in_off - 1, &b, 1);
        if (st != MS_OK)
            return st;
        if (inflatePrime(&s->z, bits, b >> (8 - bits)) != Z_OK)
            return ms_fail(MS_ERR_INTERNAL, "zlib inflatePrime failed");
    }
    if (window_len > 0 && inflateSetDictionary(&s->z, window, (uInt)window_len) != Z_OK)
        return ms_fail(MS_ERR_INTERNAL, "zlib inflateSetDictionary failed");
    s->z.avail_in = 0;
    s->in_next = in_off;
    s->out_pos = out_pos;
    s->fresh = 0;
    s->verify = 0;
    s->state = MS_GZ_DEFLATE;
    return MS_OK;
}

static ms_status refill(ms_gz_stream *s)
{
    uint64_t left = s->in->size - s->in_next;
    if (left == 0)
        return ms_fail(MS_ERR_TRUNCATED, "gzip stream is truncated after %llu decompressed bytes (the %llu-byte file ends inside compressed data)",
                       (unsigned long long)s->out_pos, (unsigned long long)s->in->size);
    if (s->in->map != NULL) {
        size_t n = left < (1u << 30) ? (size_t)left : (1u << 30);
        s->z.next_in = (Bytef *)(uintptr_t)(s->in->map + s->in_next);
        s->z.avail_in = (uInt)n;
    } else {
        size_t n = left < INBUF_SIZE ? (size_t)left : INBUF_SIZE;
        ms_status st = ms_source_read(s->in, s->in_next, s->inbuf, n);
        if (st != MS_OK)
            return st;
        s->z.next_in = s->inbuf;
        s->z.avail_in = (uInt)n;
    }
    s->in_next += s->z.avail_in;
    return MS_OK;
}

static ms_status rest_is_zero(ms_gz_stream *s, uint64_t off, int *zero)
{
    uint8_t buf[4096];
    *zero = 1;
    while (off < s->in->size) {
        size_t n = s->in->size - off < sizeof buf ? (size_t)(s->in->size - off) : sizeof buf;
        ms_status st = ms_source_read(s->in, off, buf, n);
        if (st != MS_OK)
            return st;
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != 0) {
                *zero = 0;
                return MS_OK;
            }
        }
        off += n;
    }
    return MS_OK;
}

/* The deflate data of a member ended: check its trailer and go on to the
 * next member, or to EOF when only zero padding follows. */
static ms_status end_member(ms_gz_stream *s)
{
    uint64_t trailer = s->in_next - s->z.avail_in;
    uint8_t t[8];
    if (s->in->size - trailer < sizeof t)
        return ms_fail(MS_ERR_TRUNCATED, "gzip stream is truncated in the trailer of the member at offset %llu (after %llu decompressed bytes)",
                       (unsigned long long)s->member_off, (unsigned long long)s->out_pos);
    ms_status st = ms_source_read(s->in, trailer, t, sizeof t);
    if (st != MS_OK)
        return st;
    if (s->verify && le32(t) != s->crc)
        return ms_fail(MS_ERR_FORMAT, "gzip member at offset %llu fails its CRC check (stored 0x%08x, computed 0x%08x)",
                       (unsigned long long)s->member_off, le32(t), s->crc);
    if (s->verify && le32(t + 4) != s->member_len)
        return ms_fail(MS_ERR_FORMAT, "gzip member at offset %llu stores length %u mod 2^32, but decompresses to %u mod 2^32",
                       (unsigned long long)s->member_off, le32(t + 4), s->member_len);
    uint64_t next = trailer + sizeof t;
    uint64_t left = s->in->size - next;
    if (left == 0) {
        s->state = MS_GZ_EOF;
        return MS_OK;
    }
    uint8_t m[2] = {0, 0};
    if ((st = ms_source_read(s->in, next, m, left < 2 ? 1 : 2)) != MS_OK)
        return st;
    if (m[0] == 0x1f && (left < 2 || m[1] == 0x8b))
        return start_member(s, next);
    int zero;
    if ((st = rest_is_zero(s, next, &zero)) != MS_OK)
        return st;
    if (!zero)
        return ms_fail(MS_ERR_FORMAT, "unexpected data at offset %llu after the gzip member that ends there (expected another member or zero padding)",
                       (unsigned long long)next);
    s->state = MS_GZ_EOF;
    return MS_OK;
}

ms_status ms_gz_stream_step(ms_gz_stream *s, uint8_t *out, size_t avail, int flush, size_t *got)
{
    *got = 0;
    if (s->state == MS_GZ_EOF)
        return MS_OK;
    if (s->state != MS_GZ_DEFLATE)
        return ms_fail(MS_ERR_INTERNAL, "gzip stream used before it was positioned");
    if (avail == 0)
        return ms_fail(MS_ERR_INTERNAL, "gzip stream step with no output space");
    if (s->z.avail_in == 0) {
        ms_status st = refill(s);
        if (st != MS_OK)
            return st;
    }
    uInt room = avail < (1u << 30) ? (uInt)avail : (1u << 30);
    uInt in_before = s->z.avail_in;
    s->z.next_out = out;
    s->z.avail_out = room;
    int ret = inflate(&s->z, flush);
    size_t n = room - s->z.avail_out;
    *got = n;
    s->out_pos += n;
    if (s->verify && n > 0)
        s->crc = (uint32_t)crc32(s->crc, out, (uInt)n);
    s->member_len += (uint32_t)n;
    if (n > 0 || s->z.avail_in != in_before)
        s->fresh = 0;
    switch (ret) {
    case Z_OK:
        return MS_OK;
    case Z_STREAM_END:
        return end_member(s);
    case Z_MEM_ERROR:
        return ms_fail(MS_ERR_NOMEM, "out of memory while inflating gzip data");
    case Z_BUF_ERROR:
        return ms_fail(MS_ERR_INTERNAL, "inflate made no progress at compressed offset %llu",
                       (unsigned long long)(s->in_next - s->z.avail_in));
    default:
        return ms_fail(MS_ERR_FORMAT, "gzip data is corrupt at compressed offset %llu, after %llu decompressed bytes: %s",
                       (unsigned long long)(s->in_next - s->z.avail_in), (unsigned long long)s->out_pos,
                       s->z.msg ? s->z.msg : "invalid deflate data");
    }
}

int ms_gz_stream_boundary(const ms_gz_stream *s, uint64_t *in_off, int *bits)
{
    if (s->state != MS_GZ_DEFLATE)
        return 0;
    *in_off = s->in_next - s->z.avail_in;
    if (s->fresh) {
        *bits = 0;
        return 1;
    }
    if ((s->z.data_type & 128) && !(s->z.data_type & 64)) {
        *bits = s->z.data_type & 7;
        return 1;
    }
    return 0;
}
