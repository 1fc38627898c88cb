/* A gzip file as one continuous decompressed stream: raw inflate over the
 * deflate data of each member in turn, with the member headers and trailers
 * parsed here.  It can start at the first member or resume at a checkpoint
 * (a deflate block boundary plus the 32 KiB of output before it). */
#ifndef MS_IMAGE_GZIP_STREAM_H
#define MS_IMAGE_GZIP_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "source.h"

#define MS_GZ_WINDOW 32768u

typedef enum ms_gz_state {
    MS_GZ_IDLE = 0,
    MS_GZ_DEFLATE,
    MS_GZ_EOF
} ms_gz_state;

typedef struct ms_gz_stream {
    ms_source *in;
    z_stream z;
    int z_ready;
    ms_gz_state state;
    int verify;            /* check each member's CRC-32 and ISIZE */
    int fresh;             /* at the first byte of a member's deflate data */
    uint64_t in_next;      /* file offset of the first byte not yet given to zlib */
    uint64_t out_pos;      /* decompressed offset of the next output byte */
    uint64_t member_off;   /* file offset of the current member's header */
    uint32_t crc;
    uint32_t member_len;   /* output of the current member, mod 2^32 */
    uint8_t *inbuf;        /* NULL when the input is memory-mapped */
} ms_gz_stream;

ms_status ms_gz_stream_init(ms_gz_stream *s, ms_source *in, int verify);
void ms_gz_stream_free(ms_gz_stream *s);

/* Position at the first member's deflate data. */
ms_status ms_gz_stream_start(ms_gz_stream *s);

/* Position at a checkpoint: `in_off` is the first whole compressed byte,
 * `bits` (0..7) the unused high bits of the byte before it. */
ms_status ms_gz_stream_resume(ms_gz_stream *s, uint64_t out_pos, uint64_t in_off, int bits,
                              const uint8_t *window, size_t window_len);

/* One inflate call into out[0..avail); *got is the number of bytes made.
 * `flush` is Z_BLOCK (stop at block ends) or Z_NO_FLUSH.  Crosses member
 * boundaries; state becomes MS_GZ_EOF after the last member. */
ms_status ms_gz_stream_step(ms_gz_stream *s, uint8_t *out, size_t avail, int flush, size_t *got);

/* 1 when the stream can later be resumed exactly here (valid after a
 * Z_BLOCK step); fills the checkpoint position. */
int ms_gz_stream_boundary(const ms_gz_stream *s, uint64_t *in_off, int *bits);

#endif
