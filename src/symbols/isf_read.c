/* ISF bytes to JSON text: gzip and xz are detected from their magic bytes. */
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "isf_internal.h"

#define CHUNK (1u << 20)

typedef struct out_buf {
    char *data;
    size_t len;
    size_t cap;
} out_buf;

/* Room for at least one more chunk, up to one byte past the limit (so that
 * "exactly the limit" and "more than the limit" can be told apart). */
static ms_status grow(out_buf *b, const char *origin)
{
    if (b->cap - b->len >= 1)
        return MS_OK;
    size_t cap = b->cap ? b->cap * 2 : CHUNK;
    if (cap > (size_t)MS_ISF_MAX_BYTES + 1)
        cap = (size_t)MS_ISF_MAX_BYTES + 1;
    if (cap <= b->len)
        return ms_fail(MS_ERR_LIMIT, "%s: decompressed ISF is larger than %u MiB", origin, MS_ISF_MAX_BYTES >> 20);
    char *n = realloc(b->data, cap + 1);
    if (n == NULL)
        return ms_fail(MS_ERR_NOMEM, "%s: out of memory decompressing", origin);
    b->data = n;
    b->cap = cap;
    return MS_OK;
}

static ms_status gunzip(const uint8_t *data, size_t len, const char *origin, out_buf *b)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return ms_fail(MS_ERR_NOMEM, "%s: cannot start gzip decompression", origin);
    size_t pos = 0;
    ms_status st = MS_OK;
    for (;;) {
        if ((st = grow(b, origin)) != MS_OK)
            break;
        size_t in_avail = len - pos > UINT32_MAX ? UINT32_MAX : len - pos;
        z.next_in = (Bytef *)(uintptr_t)(data + pos);
        z.avail_in = (uInt)in_avail;
        z.next_out = (Bytef *)b->data + b->len;
        z.avail_out = (uInt)(b->cap - b->len);
        int r = inflate(&z, Z_NO_FLUSH);
        pos += in_avail - z.avail_in;
        b->len = b->cap - z.avail_out;
        if (r == Z_STREAM_END) {
            /* Concatenated members are one stream (gzip -c a b > c). */
            if (pos < len && data[pos] == 0x1f) {
                inflateReset(&z);
                continue;
            }
            break;
        }
        if (r == Z_BUF_ERROR && pos >= len) {
            st = ms_fail(MS_ERR_TRUNCATED, "%s: the gzip stream ends early (truncated file)", origin);
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            st = ms_fail(MS_ERR_FORMAT, "%s: corrupt gzip data (%s)", origin, z.msg ? z.msg : "inflate failed");
            break;
        }
        if (b->len > MS_ISF_MAX_BYTES) {
            st = ms_fail(MS_ERR_LIMIT, "%s: decompressed ISF is larger than %u MiB", origin, MS_ISF_MAX_BYTES >> 20);
            break;
        }
    }
    inflateEnd(&z);
    return st;
}

static ms_status unxz(const uint8_t *data, size_t len, const char *origin, out_buf *b)
{
    lzma_stream z = LZMA_STREAM_INIT;
    /* The memory limit bounds the dictionary a hostile header can ask for. */
    if (lzma_stream_decoder(&z, 256u << 20, LZMA_CONCATENATED) != LZMA_OK)
        return ms_fail(MS_ERR_NOMEM, "%s: cannot start xz decompression", origin);
    z.next_in = data;
    z.avail_in = len;
    ms_status st = MS_OK;
    for (;;) {
        if ((st = grow(b, origin)) != MS_OK)
            break;
        z.next_out = (uint8_t *)b->data + b->len;
        z.avail_out = b->cap - b->len;
        lzma_ret r = lzma_code(&z, z.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
        b->len = b->cap - z.avail_out;
        if (r == LZMA_STREAM_END)
            break;
        if (r == LZMA_BUF_ERROR) {
            st = ms_fail(MS_ERR_TRUNCATED, "%s: the xz stream ends early (truncated file)", origin);
            break;
        }
        if (r == LZMA_MEMLIMIT_ERROR || r == LZMA_MEM_ERROR) {
            st = ms_fail(MS_ERR_LIMIT, "%s: the xz stream needs more than 256 MiB of memory to decompress", origin);
            break;
        }
        if (r != LZMA_OK) {
            st = ms_fail(MS_ERR_FORMAT, "%s: corrupt xz data (liblzma error %d)", origin, (int)r);
            break;
        }
        if (b->len > MS_ISF_MAX_BYTES) {
            st = ms_fail(MS_ERR_LIMIT, "%s: decompressed ISF is larger than %u MiB", origin, MS_ISF_MAX_BYTES >> 20);
            break;
        }
    }
    lzma_end(&z);
    return st;
}

ms_status ms_isf_decompress(const uint8_t *data, size_t len, const char *origin, char **text, size_t *text_len)
{
    static const uint8_t xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    out_buf b = {NULL, 0, 0};
    ms_status st;
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        st = gunzip(data, len, origin, &b);
    } else if (len >= 6 && memcmp(data, xz_magic, 6) == 0) {
        st = unxz(data, len, origin, &b);
    } else if ((len >= 3 && memcmp(data, "BZh", 3) == 0) ||
               (len >= 4 && memcmp(data, "\x28\xb5\x2f\xfd", 4) == 0)) {
        return ms_fail(MS_ERR_UNSUPPORTED, "%s: bzip2 and zstd are not supported; decompress it, or use gzip or xz",
                       origin);
    } else {
        if (len > MS_ISF_MAX_BYTES)
            return ms_fail(MS_ERR_LIMIT, "%s: ISF is larger than %u MiB", origin, MS_ISF_MAX_BYTES >> 20);
        b.data = malloc(len + 1);
        if (b.data == NULL)
            return ms_fail(MS_ERR_NOMEM, "%s: out of memory", origin);
        if (len > 0)
            memcpy(b.data, data, len);
        b.len = len;
        st = MS_OK;
    }
    if (st != MS_OK) {
        free(b.data);
        return st;
    }
    if (b.data == NULL && (b.data = malloc(1)) == NULL)
        return ms_fail(MS_ERR_NOMEM, "%s: out of memory", origin);
    b.data[b.len] = '\0';
    *text = b.data;
    *text_len = b.len;
    return MS_OK;
}
