/* Multi-tag search at pool-header positions: portable C, SSE2 and AVX2.
 *
 * Only the dword at +4 of each aligned slot can hold a tag, so the vector
 * routines gather those dwords from consecutive slots into one register and
 * compare it against every tag: one compare per tag per 8 slots. */
#include "tagscan_internal.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MS_HAVE_X86_SIMD 1
#endif

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int tag_match(const ms_tagset *set, const uint8_t *q)
{
    if (!set->first_byte[q[0]])
        return 0;
    uint32_t v = rd32(q);
    for (unsigned k = 0; k < set->count; k++)
        if (set->tags[k] == v)
            return 1;
    return 0;
}

static size_t search_portable(const ms_tagset *set, const uint8_t *p, size_t nslots, unsigned stride, size_t from,
                              uint32_t *out)
{
    size_t n = 0;
    for (size_t i = from; i < nslots; i++)
        if (tag_match(set, p + i * stride + 4))
            out[n++] = (uint32_t)i;
    return n;
}

static size_t portable_x86(const ms_tagset *set, const uint8_t *p, size_t nslots, uint32_t *out)
{
    return search_portable(set, p, nslots, 8, 0, out);
}

static size_t portable_x64(const ms_tagset *set, const uint8_t *p, size_t nslots, uint32_t *out)
{
    return search_portable(set, p, nslots, 16, 0, out);
}

#ifdef MS_HAVE_X86_SIMD

/* Write base + b for each set bit b of mask, ascending. */
static size_t emit_bits(unsigned mask, size_t base, uint32_t *out)
{
    size_t n = 0;
    while (mask) {
        out[n++] = (uint32_t)(base + (unsigned)__builtin_ctz(mask));
        mask &= mask - 1;
    }
    return n;
}

/* The AVX2 gathers leave slots out of order in the register; these tables
 * turn a mask in register order into one in slot order. */
static uint8_t g_unshuffle_x64[256];   /* lanes hold slots 0 2 4 6 1 3 5 7 */
static uint8_t g_unshuffle_x86[256];   /* lanes hold slots 0 1 4 5 2 3 6 7 */

static void build_unshuffle(uint8_t *table, const unsigned order[8])
{
    for (unsigned m = 0; m < 256; m++) {
        unsigned r = 0;
        for (unsigned b = 0; b < 8; b++)
            if (m & (1u << b))
                r |= 1u << order[b];
        table[m] = (uint8_t)r;
    }
}

static void build_tables(void)
{
    static const unsigned x64[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    static const unsigned x86[8] = {0, 1, 4, 5, 2, 3, 6, 7};
    build_unshuffle(g_unshuffle_x64, x64);
    build_unshuffle(g_unshuffle_x86, x86);
}

/* The loops below are written once with the tag count as a parameter and
 * inlined into one copy per count (DISPATCH), so that the compares unroll
 * and the broadcast tags stay in registers. */
#define INLINE_SSE2 __attribute__((always_inline, target("sse2"))) static inline
#define INLINE_AVX2 __attribute__((always_inline, target("avx2"))) static inline

#define DISPATCH(loop, set, p, nslots, out)                                                                    \
    switch ((set)->count) {                                                                                    \
    case 1: return loop(set, p, nslots, out, 1);                                                               \
    case 2: return loop(set, p, nslots, out, 2);                                                               \
    case 3: return loop(set, p, nslots, out, 3);                                                               \
    case 4: return loop(set, p, nslots, out, 4);                                                               \
    case 5: return loop(set, p, nslots, out, 5);                                                               \
    case 6: return loop(set, p, nslots, out, 6);                                                               \
    case 7: return loop(set, p, nslots, out, 7);                                                               \
    case 8: return loop(set, p, nslots, out, 8);                                                               \
    default: return loop(set, p, nslots, out, (set)->count);                                                   \
    }

INLINE_SSE2 unsigned match_sse2(const __m128i *tags, unsigned count, __m128i v)
{
    __m128i m = _mm_cmpeq_epi32(v, tags[0]);
#pragma GCC unroll 16
    for (unsigned k = 1; k < count; k++)
        m = _mm_or_si128(m, _mm_cmpeq_epi32(v, tags[k]));
    return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(m));
}

/* 4 slots of 16 bytes: dword 1 of each. */
INLINE_SSE2 size_t sse2_x64_loop(const ms_tagset *set, const uint8_t *p, size_t nslots, uint32_t *out,
                                 unsigned count)
{
    __m128i tags[MS_TAGSCAN_MAX_TAGS];
    for (unsigned k = 0; k < count; k++)
        tags[k] = _mm_set1_epi32((int)set->tags[k]);
    size_t n = 0, i = 0;
    for (; i + 4 < nslots; i += 4) {
        const float *q = (const float *)(const void *)(p + i * 16);
        __m128 a = _mm_loadu_ps(q), b = _mm_loadu_ps(q + 4), c = _mm_loadu_ps(q + 8), d = _mm_loadu_ps(q + 12);
        __m128 ab = _mm_shuffle_ps(a, b, _MM_SHUFFLE(1, 1, 1, 1));
        __m128 cd = _mm_shuffle_ps(c, d, _MM_SHUFFLE(1, 1, 1, 1));
        __m128 v = _mm_shuffle_ps(ab, cd, _MM_SHUFFLE(2, 0, 2, 0));
        unsigned mask = match_sse2(tags, count, _mm_castps_si128(v));
        if (mask)
            n += emit_bits(mask, i, out + n);
    }
    return n + search_portable(set, p, nslots, 16, i, out + n);
}

/* 4 slots of 8 bytes: dwords 1 and 3 of two registers. */
INLINE_SSE2 size_t sse2_x86_loop(const ms_tagset *set, const uint8_t *p, size_t nslots, uint32_t *out,
                                 unsigned count)
{
    __m128i tags[MS_TAGSCAN_MAX_TAGS];
    for (unsigned k = 0; k < count; k++)
        tags[k] = _mm_set1_epi32((int)set->tags[k]);
    size_t n = 0, i = 0;
    for (; i + 4 < nslots; i += 4) {
        const float *q = (const float *)(const void *)(p + i * 8);
        __m128 v = _mm_shuffle_ps(_mm_loadu_ps(q), _mm_loadu_ps(q + 4), _MM_SHUFFLE(3, 1, 3, 1));
        unsigned mask = match_sse2(tags, count, _mm_castps_si128(v));
        if (mask)
            n += emit_bits(mask, i, out + n);
    }
    return n + search_portable(set, p, nslots, 8, i, out + n);
}

INLINE_AVX2 unsigned match_avx2(const __m256i *tags, unsigned count, __m256i v)
{
    __m256i m = _mm256_cmpeq_epi32(v, tags[0]);
#pragma GCC unroll 16
    for (unsigned k = 1; k < count; k++)
        m = _mm256_or_si256(m, _mm256_cmpeq_epi32(v, tags[k]));
    return (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(m));
}

/* 8 slots of 16 bytes in 4 registers; the result lanes hold slots
 * 0 2 4 6 | 1 3 5 7. */
INLINE_AVX2 size_t avx2_x64_loop(const ms_tagset *set, const uint8_t *p, size_t nslots, uint32_t *out,
                                 unsigned count)
{
    __m256i tags[MS_TAGSCAN_MAX_TAGS];
    for (unsigned k = 0; k < count; k++)
        tags[k] = _mm256_set1_epi32((int)set->tags[k]);
    size_t n = 0, i = 0;
    for (; i + 8 < nslots; i += 8) {
        const float *q = (const float *)(const void *)(p + i * 16);
        __m256 a = _mm256_loadu_ps(q), b = _mm256_loadu_ps(q + 8);
        __m256 c = _mm256_loadu_ps(q + 16), d = _mm256_loadu_ps(q + 24);
        __m256 ab = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(1, 1, 1, 1));
        __m256 cd = _mm256_shuffle_ps(c, d, _MM_SHUFFLE(1, 1, 1, 1));
        __m256 v = _mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(2, 0, 2, 0));
        unsigned mask = match_avx2(tags, count, _mm256_castps_si256(v));
        if (mask)
            n += emit_bits(g_unshuffle_x64[mask], i, out + n);
    }
    return n + search_portable(set, p, nslots, 16, i, out + n);
}

/* 8 slots of 8 bytes in 2 registers; the result lanes hold slots
 * 0 1 4 5 | 2 3 6 7. */
INLINE_AVX2 size_t avx2_x86_loop(const ms_tagset *set, const uint8_t *p, size_t nslots, uint32_t *out,
                                 unsigned count)
{
    __m256i tags[MS_TAGSCAN_MAX_TAGS];
    for (unsigned k = 0; k < count; k++)
        tags[k] = _mm256_set1_epi32((int)set->tags[k]);
    size_t n = 0, i = 0;
    for (; i + 8 < nslots; i += 8) {
        const float *q = (const float *)(const void *)(p + i * 8);
        __m256 v = _mm256_shuffle_ps(_mm256_loadu_ps(q), _mm256_loadu_ps(q + 8), _MM_SHUFFLE(3, 1, 3, 1));
        unsigned mask = match_avx2(tags, count, _mm256_castps_si256(v));
        if (mask)
            n += emit_bits(g_unshuffle_x86[mask], i, out + n);
    }
    return n + search_portable(set, p, nslots, 8, i, out + n);
}

__attribute__((target("sse2"))) static size_t sse2_x64(const ms_tagset *set, const uint8_t *p, size_t nslots,
                                                       uint32_t *out)
{
    DISPATCH(sse2_x64_loop, set, p, nslots, out)
}

__attribute__((target("sse2"))) static size_t sse2_x86(const ms_tagset *set, const uint8_t *p, size_t nslots,
                                                       uint32_t *out)
{
    DISPATCH(sse2_x86_loop, set, p, nslots, out)
}

__attribute__((target("avx2"))) static size_t avx2_x64(const ms_tagset *set, const uint8_t *p, size_t nslots,
                                                       uint32_t *out)
{
    DISPATCH(avx2_x64_loop, set, p, nslots, out)
}

__attribute__((target("avx2"))) static size_t avx2_x86(const ms_tagset *set, const uint8_t *p, size_t nslots,
                                                       uint32_t *out)
{
    DISPATCH(avx2_x86_loop, set, p, nslots, out)
}

static pthread_once_t g_tables_once = PTHREAD_ONCE_INIT;

#endif

ms_status ms_tag_searcher_pick(ms_tagscan_kernel kernel, unsigned stride, ms_tag_searcher *out)
{
    if (stride != 8 && stride != 16)
        return ms_fail(MS_ERR_ARG, "pool slot stride must be 8 or 16 bytes, found %u", stride);
    int x64 = stride == 16;
#ifdef MS_HAVE_X86_SIMD
    pthread_once(&g_tables_once, build_tables);
    __builtin_cpu_init();
    int has_avx2 = __builtin_cpu_supports("avx2");
    int has_sse2 = __builtin_cpu_supports("sse2");
    if (kernel == MS_TAGSCAN_AUTO)
        kernel = has_avx2 ? MS_TAGSCAN_AVX2 : has_sse2 ? MS_TAGSCAN_SSE2 : MS_TAGSCAN_PORTABLE;
    if (kernel == MS_TAGSCAN_AVX2) {
        if (!has_avx2)
            return ms_fail(MS_ERR_UNSUPPORTED, "the AVX2 search needs a CPU with AVX2");
        *out = (ms_tag_searcher){x64 ? avx2_x64 : avx2_x86, "avx2"};
        return MS_OK;
    }
    if (kernel == MS_TAGSCAN_SSE2) {
        if (!has_sse2)
            return ms_fail(MS_ERR_UNSUPPORTED, "the SSE2 search needs a CPU with SSE2");
        *out = (ms_tag_searcher){x64 ? sse2_x64 : sse2_x86, "sse2"};
        return MS_OK;
    }
#else
    if (kernel == MS_TAGSCAN_AUTO)
        kernel = MS_TAGSCAN_PORTABLE;
    if (kernel == MS_TAGSCAN_SSE2 || kernel == MS_TAGSCAN_AVX2)
        return ms_fail(MS_ERR_UNSUPPORTED, "vector searches need an x86 CPU");
#endif
    if (kernel != MS_TAGSCAN_PORTABLE)
        return ms_fail(MS_ERR_ARG, "unknown search routine %d", (int)kernel);
    *out = (ms_tag_searcher){x64 ? portable_x64 : portable_x86, "portable"};
    return MS_OK;
}
