/* ms_tagscan_run: splitting physical memory into jobs, scanning them on
 * worker threads and reporting the hits in physical order.
 *
 * A job is one chunk-aligned window of physical addresses that holds image
 * bytes.  It owns the pool headers that start inside it and sees a little
 * past its end (LOOKAHEAD) so that a block that crosses the boundary is
 * whole.  Job k uses slot k % nslots; the calling thread takes the slots in
 * job order, runs the callback and frees the slot for job k + nslots. */
#include "tagscan_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest block (4088 bytes on x86, 4080 on x64) plus the next header. */
#define LOOKAHEAD 4112u
#define BATCH_SLOTS 4096u
#define TAG_SHIFT 28
#define OFF_MASK ((1u << TAG_SHIFT) - 1u)

/* A hit kept between the search and the callback. */
typedef struct pending_hit {
    uint32_t off_tag;          /* offset from the slot's base | tag index << TAG_SHIFT */
    uint16_t avail;            /* bytes held from the header on (capped) */
    uint16_t before;           /* bytes held before the header in this job (capped) */
} pending_hit;

typedef struct job {
    uint64_t index;
    uint64_t start, end;       /* the window; end is exclusive */
    size_t range;              /* first range that ends after start */
} job;

enum { SLOT_FREE, SLOT_BUSY, SLOT_DONE };

typedef struct slot {
    int state;
    job job;
    const uint8_t *base;       /* image bytes of physical address base_paddr on */
    uint64_t base_paddr;
    pending_hit *hits;
    size_t nhits, cap;
    uint8_t *buf;              /* read path: the window and its lookahead */
    uint64_t held;             /* bytes of the window held by the image */
    ms_status status;
    char message[512];
} slot;

typedef struct run {
    ms_tagscan *scanner;
    ms_image *image;
    size_t nranges;
    int serial_reads;          /* gzip: one read position, keep reads in order */
    pthread_mutex_t lock;
    pthread_mutex_t read_lock;
    pthread_cond_t changed;
    /* job enumeration */
    size_t cursor;
    uint64_t next_start;
    uint64_t jobs_claimed;
    int enum_done;
    int stop;
    slot *slots;
    size_t nslots;
} run;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void range_at(run *r, size_t i, uint64_t *start, uint64_t *end)
{
    ms_phys_range pr = {0, 0};
    ms_image_range(r->image, i, &pr);
    *start = pr.start;
    *end = sat_add(pr.start, pr.length);
}

/* The next window holding image bytes, in order; 0 when none is left.
 * Called with r->lock held. */
static int claim_job(run *r, job *out)
{
    if (r->enum_done || r->stop)
        return 0;
    uint64_t chunk = r->scanner->chunk_size;
    while (r->cursor < r->nranges) {
        uint64_t s, e;
        range_at(r, r->cursor, &s, &e);
        if (e <= r->next_start) {
            r->cursor++;
            continue;
        }
        uint64_t start = s > r->next_start ? s - s % chunk : r->next_start;
        if (start == UINT64_MAX)
            break;
        out->index = r->jobs_claimed++;
        out->start = start;
        out->end = sat_add(start, chunk);
        out->range = r->cursor;
        r->next_start = out->end;
        return 1;
    }
    r->enum_done = 1;
    return 0;
}

static int push_hit(slot *sl, uint32_t off, unsigned tag, size_t avail, size_t before)
{
    if (sl->nhits == sl->cap) {
        size_t cap = sl->cap ? sl->cap * 2 : 1024;
        pending_hit *h = realloc(sl->hits, cap * sizeof *h);
        if (h == NULL)
            return 0;
        sl->hits = h;
        sl->cap = cap;
    }
    sl->hits[sl->nhits++] = (pending_hit){off | (uint32_t)tag << TAG_SHIFT,
                                          (uint16_t)(avail < 0xffff ? avail : 0xffff),
                                          (uint16_t)(before < 0xffff ? before : 0xffff)};
    return 1;
}

static unsigned tag_index(const ms_tagset *set, uint32_t value)
{
    unsigned k = 0;
    while (k < set->count && set->tags[k] != value)
        k++;
    return k;
}

/* A run of held bytes: headers start in [own_start, own_end), bytes are
 * held in [data_start, data_end). */
typedef struct span {
    uint64_t own_start, own_end, data_start, data_end;
} span;

static ms_status search_span(const ms_tagscan *sc, slot *sl, const span *sp)
{
    unsigned unit = ms_pool_unit(sc->opts.layout);
    unsigned hsize = ms_pool_header_size(sc->opts.layout);
    if (sp->data_end - sp->data_start < 8)
        return MS_OK;
    uint64_t h0 = sp->own_start + (unit - sp->own_start % unit) % unit;
    uint64_t h_end = sp->own_end < sp->data_end - 7 ? sp->own_end : sp->data_end - 7;
    if (h0 < sp->own_start || h0 >= h_end)
        return MS_OK;
    uint64_t nslots = (h_end - h0 + unit - 1) / unit;
    uint32_t found[BATCH_SLOTS];
    for (uint64_t first = 0; first < nslots; first += BATCH_SLOTS) {
        size_t n = nslots - first < BATCH_SLOTS ? (size_t)(nslots - first) : BATCH_SLOTS;
        uint64_t hb = h0 + first * unit;
        const uint8_t *p = sl->base + (hb - sl->base_paddr);
        size_t nf = sc->searcher.fn(&sc->set, p, n, found);
        for (size_t j = 0; j < nf; j++) {
            uint64_t h = hb + (uint64_t)found[j] * unit;
            const uint8_t *blk = p + (size_t)found[j] * unit;
            uint64_t avail = sp->data_end - h;
            if (avail < hsize)
                continue;
            ms_pool_header hdr;
            ms_pool_decode(sc->opts.layout, blk, &hdr);
            unsigned k = tag_index(&sc->set, hdr.tag);
            if (k == sc->set.count)
                continue;
            size_t before = (size_t)(h - sp->data_start);
            size_t av = avail > 0xffff ? 0xffff : (size_t)avail;
            if (!ms_pool_rule_accepts(&sc->rules[k], sc->opts.layout, h, &hdr, blk, av, before))
                continue;
            if (!push_hit(sl, (uint32_t)(h - sl->base_paddr), k, av, before))
                return ms_fail(MS_ERR_NOMEM, "out of memory keeping the hits of the window at 0x%llx",
                               (unsigned long long)sl->job.start);
        }
    }
    return MS_OK;
}

/* The spans of a job's window: ranges that touch are joined, and a span's
 * data runs up to LOOKAHEAD bytes past the window.  Calls fn for each. */
typedef ms_status (*span_fn)(run *r, slot *sl, const span *sp, void *arg);

static ms_status each_span(run *r, slot *sl, span_fn fn, void *arg)
{
    const job *jb = &sl->job;
    uint64_t horizon = sat_add(jb->end, LOOKAHEAD);
    size_t i = jb->range;
    while (i < r->nranges) {
        uint64_t s, e;
        range_at(r, i, &s, &e);
        if (s >= jb->end)
            break;
        size_t j = i + 1;
        while (j < r->nranges && e < horizon) {
            uint64_t s2, e2;
            range_at(r, j, &s2, &e2);
            if (s2 != e)
                break;
            e = e2;
            j++;
        }
        span sp;
        sp.data_start = s > jb->start ? s : jb->start;
        sp.data_end = e < horizon ? e : horizon;
        sp.own_start = sp.data_start;
        sp.own_end = e < jb->end ? e : jb->end;
        if (sp.own_start < sp.own_end) {
            ms_status st = fn(r, sl, &sp, arg);
            if (st != MS_OK)
                return st;
        }
        i = j;
        if (e >= jb->end)
            break;
    }
    return MS_OK;
}

typedef struct extent {
    uint64_t start, end, held;
    int count;
} extent;

static ms_status measure_span(run *r, slot *sl, const span *sp, void *arg)
{
    (void)r;
    (void)sl;
    extent *x = arg;
    if (x->count++ == 0)
        x->start = sp->data_start;
    x->end = sp->data_end;
    x->held += sp->own_end - sp->own_start;
    return MS_OK;
}

static ms_status read_span(run *r, slot *sl, const span *sp, void *arg)
{
    (void)arg;
    ms_status st = ms_image_read(r->image, sp->data_start, sl->buf + (sp->data_start - sl->job.start),
                                 (size_t)(sp->data_end - sp->data_start));
    return st == MS_ERR_NOT_PRESENT ? MS_OK : st;
}

static ms_status scan_span(run *r, slot *sl, const span *sp, void *arg)
{
    (void)arg;
    return search_span(r->scanner, sl, sp);
}

/* Make the window's bytes addressable: the image's mapping when one run
 * backs all of them, else a read into the slot's buffer. */
static ms_status load_job(run *r, slot *sl)
{
    extent x = {0, 0, 0, 0};
    each_span(r, sl, measure_span, &x);
    sl->held = x.held;
    if (x.count == 0)
        return MS_OK;
    const uint8_t *ptr;
    if (ms_image_map(r->image, x.start, (size_t)(x.end - x.start), &ptr) == MS_OK) {
        sl->base = ptr;
        sl->base_paddr = x.start;
        return MS_OK;
    }
    if (sl->buf == NULL) {
        sl->buf = malloc(r->scanner->chunk_size + LOOKAHEAD);
        if (sl->buf == NULL)
            return ms_fail(MS_ERR_NOMEM, "out of memory for a %zu-byte scan buffer", r->scanner->chunk_size + LOOKAHEAD);
    }
    sl->base = sl->buf;
    sl->base_paddr = sl->job.start;
    return each_span(r, sl, read_span, NULL);
}

static void record_failure(slot *sl, ms_status st)
{
    sl->status = st;
    snprintf(sl->message, sizeof sl->message, "%s", ms_last_error());
}

static void scan_job(run *r, slot *sl)
{
    ms_status st = each_span(r, sl, scan_span, NULL);
    if (st != MS_OK)
        record_failure(sl, st);
}

static void reset_slot(slot *sl, const job *jb)
{
    sl->job = *jb;
    sl->nhits = 0;
    sl->held = 0;
    sl->base = NULL;
    sl->status = MS_OK;
    sl->message[0] = '\0';
}

/* Report a finished slot's hits.  Returns 1 if the callback asked to stop. */
static int emit_slot(run *r, slot *sl, ms_tagscan_fn cb, void *user)
{
    const ms_tagscan *sc = r->scanner;
    for (size_t i = 0; i < sl->nhits; i++) {
        const pending_hit *ph = &sl->hits[i];
        ms_pool_hit hit;
        uint32_t off = ph->off_tag & OFF_MASK;
        hit.paddr = sl->base_paddr + off;
        hit.tag_index = ph->off_tag >> TAG_SHIFT;
        hit.block = sl->base + off;
        ms_pool_decode(sc->opts.layout, hit.block, &hit.header);
        hit.block_len = hit.header.block_size < ph->avail ? hit.header.block_size : ph->avail;
        if (cb(&hit, user))
            return 1;
    }
    return 0;
}

static void *worker(void *arg)
{
    run *r = arg;
    for (;;) {
        job jb;
        int serial = r->serial_reads;
        if (serial)
            pthread_mutex_lock(&r->read_lock);
        pthread_mutex_lock(&r->lock);
        /* Claim only when the next job's slot is free, so that slots are
         * taken in job order. */
        while (!r->stop && !r->enum_done && r->slots[r->jobs_claimed % r->nslots].state != SLOT_FREE)
            pthread_cond_wait(&r->changed, &r->lock);
        if (!claim_job(r, &jb)) {
            pthread_cond_broadcast(&r->changed);
            pthread_mutex_unlock(&r->lock);
            if (serial)
                pthread_mutex_unlock(&r->read_lock);
            return NULL;
        }
        slot *sl = &r->slots[jb.index % r->nslots];
        sl->state = SLOT_BUSY;
        pthread_mutex_unlock(&r->lock);

        reset_slot(sl, &jb);
        ms_status st = load_job(r, sl);
        if (serial)
            pthread_mutex_unlock(&r->read_lock);
        if (st != MS_OK)
            record_failure(sl, st);
        else
            scan_job(r, sl);

        pthread_mutex_lock(&r->lock);
        sl->state = SLOT_DONE;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
}

typedef struct reporter {
    ms_tagscan_fn cb;
    void *user;
    ms_tagscan_progress_fn progress;
    void *progress_user;
    uint64_t done, total;
} reporter;

/* Returns MS_OK to go on, MS_ERR_LIMIT (not an error) to stop. */
static ms_status report(run *r, slot *sl, reporter *rp)
{
    if (sl->status != MS_OK)
        return ms_fail(sl->status, "%s", sl->message);
    if (emit_slot(r, sl, rp->cb, rp->user))
        return MS_ERR_LIMIT;
    rp->done += sl->held;
    if (rp->progress != NULL)
        rp->progress(rp->progress_user, rp->done, rp->total);
    return MS_OK;
}

static ms_status run_serial(run *r, reporter *rp)
{
    slot *sl = &r->slots[0];
    job jb;
    while (claim_job(r, &jb)) {
        reset_slot(sl, &jb);
        ms_status st = load_job(r, sl);
        if (st != MS_OK)
            record_failure(sl, st);
        else
            scan_job(r, sl);
        if ((st = report(r, sl, rp)) != MS_OK)
            return st;
    }
    return MS_OK;
}

static ms_status run_parallel(run *r, reporter *rp, unsigned nthreads)
{
    pthread_t tids[64];
    unsigned started = 0;
    ms_status st = MS_OK;
    for (; started < nthreads; started++)
        if (pthread_create(&tids[started], NULL, worker, r) != 0)
            break;
    if (started == 0)
        return ms_fail(MS_ERR_INTERNAL, "cannot start a scan thread");

    for (uint64_t k = 0; st == MS_OK; k++) {
        slot *sl = &r->slots[k % r->nslots];
        pthread_mutex_lock(&r->lock);
        while (!(sl->state == SLOT_DONE && sl->job.index == k) && !(r->enum_done && k >= r->jobs_claimed))
            pthread_cond_wait(&r->changed, &r->lock);
        int finished = sl->state != SLOT_DONE || sl->job.index != k;
        pthread_mutex_unlock(&r->lock);
        if (finished)
            break;
        st = report(r, sl, rp);
        pthread_mutex_lock(&r->lock);
        sl->state = SLOT_FREE;
        if (st != MS_OK)
            r->stop = 1;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
    for (unsigned t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    return st;
}

ms_status ms_tagscan_run(ms_tagscan *scanner, ms_image *image, ms_tagscan_fn callback, void *user,
                         ms_tagscan_progress_fn progress, void *progress_user)
{
    if (scanner == NULL || image == NULL || callback == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tagscan_run needs a scanner, an image and a callback");
    if (scanner->set.count == 0)
        return ms_fail(MS_ERR_ARG, "the tag scanner has no tags to look for");
    const ms_image_info *info = ms_image_get_info(image);
    run r;
    memset(&r, 0, sizeof r);
    r.scanner = scanner;
    r.image = image;
    r.nranges = info->range_count;
    r.serial_reads = info->compressed;
    unsigned nthreads = scanner->threads;
    r.nslots = nthreads > 1 ? nthreads + 1 : 1;
    r.slots = calloc(r.nslots, sizeof *r.slots);
    if (r.slots == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for %zu scan slots", r.nslots);
    reporter rp = {callback, user, progress, progress_user, 0, info->present_bytes};

    ms_status st;
    if (nthreads > 1) {
        pthread_mutex_init(&r.lock, NULL);
        pthread_mutex_init(&r.read_lock, NULL);
        pthread_cond_init(&r.changed, NULL);
        st = run_parallel(&r, &rp, nthreads);
        pthread_cond_destroy(&r.changed);
        pthread_mutex_destroy(&r.read_lock);
        pthread_mutex_destroy(&r.lock);
    } else {
        st = run_serial(&r, &rp);
    }
    for (size_t i = 0; i < r.nslots; i++) {
        free(r.slots[i].hits);
        free(r.slots[i].buf);
    }
    free(r.slots);
    return st == MS_ERR_LIMIT ? MS_OK : st;
}
