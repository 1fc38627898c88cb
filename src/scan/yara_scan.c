/* Scanning a region list with several threads.
 *
 * The address space is cut into chunks; each chunk is scanned as its own
 * buffer: its window starts MS_YARA_CONTEXT bytes early (for context) and
 * runs `overlap` bytes into the next chunk, and a chunk keeps only matches
 * that start inside it, so a match across a boundary is found once.
 * Workers take chunks in order and never run more than a few chunks ahead
 * of delivery; the calling thread delivers each chunk's matches, sorted,
 * once all earlier chunks are delivered. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yara_internal.h"

#define MIN_CHUNK (64u << 10)
#define MAX_CHUNK (1u << 30)
#define MAX_THREADS 16
#define CHUNKS_AHEAD_PER_THREAD 2

typedef struct chunk {
    uint64_t report_start, report_end;   /* matches starting here belong to the chunk */
    uint64_t win_start, win_end;         /* bytes scanned */
} chunk;

typedef struct match_rec {
    uint64_t address, paddr;
    YR_RULE *rule;
    YR_STRING *string;
    uint32_t rule_idx, length;
    uint16_t ctx_len, match_at, match_shown;
    uint8_t ctx[2 * MS_YARA_CONTEXT + MS_YARA_MATCH_SHOWN];
} match_rec;

typedef struct rule_total {
    uint32_t rule_idx;
    uint64_t hits;
} rule_total;

typedef struct chunk_result {
    int done;
    match_rec *matches;
    size_t count, cap;
    rule_total *totals;      /* rules with hits in the chunk */
    size_t ntotals;
    YR_RULE *too_many_rule;  /* a rule libyara stopped recording, or NULL */
    const char *too_many_string;
} chunk_result;

typedef struct scan_job {
    ms_yara_rules *rules;
    ms_image *image;
    const ms_yara_region *regions;
    size_t nregions;
    chunk *chunks;
    chunk_result *results;
    size_t nchunks;
    size_t chunk_size, overlap;
    uint64_t max_hits;
    int timeout;
    int serialize_reads;
    size_t nrules;

    pthread_mutex_t lock;
    pthread_cond_t done_cond, space_cond;
    size_t next, delivered, ahead;
    atomic_int abort;
    ms_status error;
    char error_text[512];
    pthread_mutex_t read_lock;
} scan_job;

typedef struct worker {
    scan_job *job;
    YR_SCANNER *scanner;
    uint8_t *buffer;
    uint64_t *rule_hits;     /* per rule, for the current chunk */
    uint32_t *touched;       /* rules with rule_hits != 0 */
    size_t ntouched;
    const chunk *current;
    const uint8_t *data;
    chunk_result *result;
    ms_status status;
} worker;

void ms_yara_scan_options_init(ms_yara_scan_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->chunk_size = 16u << 20;
    opts->overlap = 4096;
    opts->max_hits = 1000;
}

/* Index of the region holding `address`, or of the first after it. */
static size_t region_at(const scan_job *job, uint64_t address)
{
    size_t lo = 0, hi = job->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ms_yara_region *r = &job->regions[mid];
        if (address - r->address < r->length && address >= r->address)
            return mid;
        if (r->address < address)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t paddr_of(const scan_job *job, uint64_t address)
{
    size_t i = region_at(job, address);
    if (i == job->nregions || address < job->regions[i].address)
        return UINT64_MAX;
    return job->regions[i].paddr + (address - job->regions[i].address);
}

/* Point w->data at the window's bytes: the image mapping when one region
 * holds it, else a copy in w->buffer. */
static ms_status load_window(worker *w, const chunk *c)
{
    scan_job *job = w->job;
    size_t len = (size_t)(c->win_end - c->win_start);
    size_t i = region_at(job, c->win_start);
    const ms_yara_region *r = &job->regions[i];
    if (c->win_end - r->address <= r->length &&
        ms_image_map(job->image, r->paddr + (c->win_start - r->address), len, &w->data) == MS_OK)
        return MS_OK;
    uint64_t addr = c->win_start;
    uint8_t *out = w->buffer;
    while (addr < c->win_end) {
        if (i == job->nregions || addr < job->regions[i].address)
            return ms_fail(MS_ERR_INTERNAL, "scan window at 0x%llx is not covered by the regions",
                           (unsigned long long)addr);
        r = &job->regions[i];
        uint64_t avail = r->length - (addr - r->address);
        size_t n = avail < c->win_end - addr ? (size_t)avail : (size_t)(c->win_end - addr);
        if (job->serialize_reads)
            pthread_mutex_lock(&job->read_lock);
        ms_status st = ms_image_read(job->image, r->paddr + (addr - r->address), out, n);
        if (job->serialize_reads)
            pthread_mutex_unlock(&job->read_lock);
        /* Absent bytes read as zeros; only a failing file stops the scan. */
        if (st != MS_OK && st != MS_ERR_NOT_PRESENT)
            return st;
        out += n;
        addr += n;
        i++;
    }
    w->data = w->buffer;
    return MS_OK;
}

static ms_status add_match(worker *w, YR_RULE *rule, uint32_t rule_idx, YR_STRING *string, const YR_MATCH *m)
{
    const chunk *c = w->current;
    if (m->offset < 0 || (uint64_t)m->offset >= c->win_end - c->win_start)
        return MS_OK;
    uint64_t address = c->win_start + (uint64_t)m->offset;
    if (address < c->report_start || address >= c->report_end)
        return MS_OK;
    if (w->rule_hits[rule_idx]++ == 0)
        w->touched[w->ntouched++] = rule_idx;
    if (w->job->max_hits != 0 && w->rule_hits[rule_idx] > w->job->max_hits)
        return MS_OK;

    chunk_result *res = w->result;
    if (res->count == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : 64;
        match_rec *grown = realloc(res->matches, cap * sizeof *grown);
        if (grown == NULL)
            return ms_fail(MS_ERR_NOMEM, "out of memory recording matches");
        res->matches = grown;
        res->cap = cap;
    }
    match_rec *rec = &res->matches[res->count++];
    rec->address = address;
    rec->paddr = paddr_of(w->job, address);
    rec->rule = rule;
    rec->string = string;
    rec->rule_idx = rule_idx;
    rec->length = m->match_length > 0 ? (uint32_t)m->match_length : 0;
    size_t off = (size_t)m->offset, win = (size_t)(c->win_end - c->win_start);
    size_t before = off < MS_YARA_CONTEXT ? off : MS_YARA_CONTEXT;
    size_t shown = rec->length < MS_YARA_MATCH_SHOWN ? rec->length : MS_YARA_MATCH_SHOWN;
    if (shown > win - off)
        shown = win - off;
    size_t after = rec->length <= MS_YARA_MATCH_SHOWN ? MS_YARA_CONTEXT : 0;
    if (after > win - off - shown)
        after = win - off - shown;
    memcpy(rec->ctx, w->data + off - before, before + shown + after);
    rec->ctx_len = (uint16_t)(before + shown + after);
    rec->match_at = (uint16_t)before;
    rec->match_shown = (uint16_t)shown;
    return MS_OK;
}

static int on_scan_message(YR_SCAN_CONTEXT *context, int message, void *data, void *user)
{
    worker *w = user;
    if (atomic_load(&w->job->abort))
        return CALLBACK_ABORT;
    if (message == CALLBACK_MSG_TOO_MANY_MATCHES) {
        YR_STRING *s = data;
        if (w->result->too_many_rule == NULL) {
            w->result->too_many_rule = &w->job->rules->rules->rules_table[s->rule_idx];
            w->result->too_many_string = s->identifier;
        }
        return CALLBACK_CONTINUE;
    }
    if (message != CALLBACK_MSG_RULE_MATCHING)
        return CALLBACK_CONTINUE;
    YR_RULE *rule = data;
    uint32_t rule_idx = (uint32_t)(rule - w->job->rules->rules->rules_table);
    if (rule_idx >= w->job->nrules)
        return CALLBACK_CONTINUE;
    YR_STRING *string;
    yr_rule_strings_foreach(rule, string)
    {
        /* libyara's notebook leaves YR_MATCH records unaligned, so each is
         * copied out rather than read in place. */
        const YR_MATCH *next = context->matches[string->idx].head;
        while (next != NULL) {
            YR_MATCH m;
            memcpy(&m, next, sizeof m);
            next = m.next;
            if (!m.is_private && add_match(w, rule, rule_idx, string, &m) != MS_OK) {
                w->status = MS_ERR_NOMEM;
                return CALLBACK_ERROR;
            }
        }
    }
    return CALLBACK_CONTINUE;
}

static int compare_matches(const void *pa, const void *pb)
{
    const match_rec *a = pa, *b = pb;
    if (a->address != b->address)
        return a->address < b->address ? -1 : 1;
    if (a->rule_idx != b->rule_idx)
        return a->rule_idx < b->rule_idx ? -1 : 1;
    if (a->string->idx != b->string->idx)
        return a->string->idx < b->string->idx ? -1 : 1;
    return a->length < b->length ? -1 : a->length > b->length;
}

static ms_status scan_chunk(worker *w, size_t index)
{
    scan_job *job = w->job;
    const chunk *c = &job->chunks[index];
    chunk_result *res = &job->results[index];
    w->current = c;
    w->result = res;
    w->status = MS_OK;
    ms_status st = load_window(w, c);
    if (st != MS_OK)
        return st;
    int rc = yr_scanner_scan_mem(w->scanner, w->data, (size_t)(c->win_end - c->win_start));
    if (rc != ERROR_SUCCESS && !atomic_load(&job->abort)) {
        if (w->status != MS_OK)
            return w->status;
        return ms_fail(rc == ERROR_SCAN_TIMEOUT ? MS_ERR_LIMIT : MS_ERR_INTERNAL,
                       "YARA scan of 0x%llx-0x%llx failed: %s", (unsigned long long)c->win_start,
                       (unsigned long long)c->win_end, ms_yara_error_name(rc));
    }
    if (w->ntouched > 0) {
        res->totals = malloc(w->ntouched * sizeof *res->totals);
        if (res->totals == NULL)
            return ms_fail(MS_ERR_NOMEM, "out of memory recording matches");
        for (size_t i = 0; i < w->ntouched; i++) {
            uint32_t r = w->touched[i];
            res->totals[i] = (rule_total){r, w->rule_hits[r]};
            w->rule_hits[r] = 0;
        }
        res->ntotals = w->ntouched;
        w->ntouched = 0;
    }
    if (res->count > 1)
        qsort(res->matches, res->count, sizeof *res->matches, compare_matches);
    return MS_OK;
}

static void fail_job(scan_job *job, ms_status st)
{
    pthread_mutex_lock(&job->lock);
    if (job->error == MS_OK) {
        job->error = st;
        snprintf(job->error_text, sizeof job->error_text, "%s", ms_last_error());
    }
    atomic_store(&job->abort, 1);
    pthread_cond_broadcast(&job->done_cond);
    pthread_cond_broadcast(&job->space_cond);
    pthread_mutex_unlock(&job->lock);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    scan_job *job = w->job;
    pthread_mutex_lock(&job->lock);
    while (!atomic_load(&job->abort) && job->next < job->nchunks) {
        if (job->next >= job->delivered + job->ahead) {
            pthread_cond_wait(&job->space_cond, &job->lock);
            continue;
        }
        size_t index = job->next++;
        pthread_mutex_unlock(&job->lock);
        ms_status st = scan_chunk(w, index);
        if (st != MS_OK) {
            fail_job(job, st);
            return NULL;
        }
        pthread_mutex_lock(&job->lock);
        job->results[index].done = 1;
        pthread_cond_broadcast(&job->done_cond);
    }
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

static ms_status worker_init(worker *w, scan_job *job)
{
    memset(w, 0, sizeof *w);
    w->job = job;
    w->buffer = malloc(job->chunk_size + job->overlap + MS_YARA_CONTEXT);
    w->rule_hits = calloc(job->nrules, sizeof *w->rule_hits);
    w->touched = malloc(job->nrules * sizeof *w->touched);
    if (w->buffer == NULL || w->rule_hits == NULL || w->touched == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory for a %zu-byte scan buffer", job->chunk_size);
    int rc = yr_scanner_create(job->rules->rules, &w->scanner);
    if (rc != ERROR_SUCCESS)
        return ms_fail(MS_ERR_NOMEM, "cannot create a YARA scanner: %s", ms_yara_error_name(rc));
    yr_scanner_set_callback(w->scanner, on_scan_message, w);
    yr_scanner_set_flags(w->scanner, SCAN_FLAGS_REPORT_RULES_MATCHING);
    yr_scanner_set_timeout(w->scanner, job->timeout);
    return MS_OK;
}

static void worker_free(worker *w)
{
    if (w->scanner != NULL)
        yr_scanner_destroy(w->scanner);
    free(w->buffer);
    free(w->rule_hits);
    free(w->touched);
}

static ms_status plan_chunks(scan_job *job)
{
    size_t n = 0, cap = 0;
    size_t i = 0;
    while (i < job->nregions) {
        uint64_t seg_start = job->regions[i].address, seg_end = seg_start + job->regions[i].length;
        for (i++; i < job->nregions && job->regions[i].address == seg_end; i++)
            seg_end += job->regions[i].length;
        for (uint64_t cs = seg_start; cs < seg_end;) {
            uint64_t rest = seg_end - cs;
            /* A tail that the overlap would read anyway joins this chunk. */
            uint64_t take = rest <= job->chunk_size + job->overlap ? rest : job->chunk_size;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                chunk *grown = realloc(job->chunks, cap * sizeof *grown);
                if (grown == NULL)
                    return ms_fail(MS_ERR_NOMEM, "out of memory planning the scan");
                job->chunks = grown;
            }
            chunk *c = &job->chunks[n++];
            c->report_start = cs;
            c->report_end = cs + take;
            c->win_start = cs - seg_start < MS_YARA_CONTEXT ? seg_start : cs - MS_YARA_CONTEXT;
            c->win_end = seg_end - c->report_end < job->overlap ? seg_end : c->report_end + job->overlap;
            cs += take;
        }
    }
    job->nchunks = n;
    return MS_OK;
}

static ms_status check_regions(const ms_yara_region *regions, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const ms_yara_region *r = &regions[i];
        if (r->length == 0 || r->address + r->length - 1 < r->address || r->paddr + r->length - 1 < r->paddr)
            return ms_fail(MS_ERR_ARG, "region %zu (0x%llx, %llu bytes) is empty or wraps around", i,
                           (unsigned long long)r->address, (unsigned long long)r->length);
        if (i > 0 && r->address < regions[i - 1].address + regions[i - 1].length)
            return ms_fail(MS_ERR_ARG, "region %zu at 0x%llx overlaps or precedes the one before it", i,
                           (unsigned long long)r->address);
    }
    return MS_OK;
}

typedef struct delivery {
    const ms_yara_scan_options *opts;
    ms_yara_match_fn fn;
    void *user;
    uint64_t *delivered;   /* per rule */
    uint64_t *total;       /* per rule */
    int stopped;
    int warned_too_many;
    uint64_t bytes_done, bytes_total;
} delivery;

static void deliver(scan_job *job, delivery *d, chunk_result *res, const chunk *c)
{
    for (size_t i = 0; i < res->ntotals; i++)
        d->total[res->totals[i].rule_idx] += res->totals[i].hits;
    for (size_t i = 0; i < res->count && !d->stopped; i++) {
        const match_rec *rec = &res->matches[i];
        if (job->max_hits != 0 && d->delivered[rec->rule_idx] >= job->max_hits)
            continue;
        d->delivered[rec->rule_idx]++;
        ms_yara_match m = {rec->address,
                           rec->paddr,
                           rec->length,
                           rec->rule->identifier,
                           rec->rule->ns->name,
                           rec->string->identifier,
                           rec->ctx,
                           rec->ctx_len,
                           rec->match_at,
                           rec->match_shown};
        if (d->fn(&m, d->user) != 0)
            d->stopped = 1;
    }
    if (res->too_many_rule != NULL && !d->warned_too_many && d->opts->log != NULL) {
        char text[512];
        snprintf(text, sizeof text,
                 "libyara stopped recording matches of %s in rule %s after %d in the chunk at 0x%llx",
                 res->too_many_string, res->too_many_rule->identifier, YR_MAX_STRING_MATCHES,
                 (unsigned long long)c->report_start);
        d->opts->log(d->opts->user, 1, text);
        d->warned_too_many = 1;
    }
    d->bytes_done += c->report_end - c->report_start;
    if (d->opts->progress != NULL)
        d->opts->progress(d->opts->user, d->bytes_done, d->bytes_total);
    free(res->matches);
    free(res->totals);
    res->matches = NULL;
    res->totals = NULL;
}

static unsigned thread_count(const ms_yara_scan_options *opts, size_t nchunks)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = opts->threads ? opts->threads : (online > 0 ? (unsigned)online : 1);
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    if (n > nchunks)
        n = (unsigned)nchunks;
    return n ? n : 1;
}

static ms_status run_job(scan_job *job, const ms_yara_scan_options *opts, ms_yara_match_fn fn, void *user)
{
    unsigned nthreads = thread_count(opts, job->nchunks);
    worker workers[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    unsigned started = 0;
    ms_status st = MS_OK;
    delivery d = {opts, fn, user, calloc(job->nrules, sizeof(uint64_t)), calloc(job->nrules, sizeof(uint64_t)),
                  0, 0, 0, 0};
    for (size_t i = 0; i < job->nchunks; i++)
        d.bytes_total += job->chunks[i].report_end - job->chunks[i].report_start;
    if (d.delivered == NULL || d.total == NULL)
        st = ms_fail(MS_ERR_NOMEM, "out of memory starting the scan");
    job->ahead = (size_t)nthreads * CHUNKS_AHEAD_PER_THREAD;

    for (unsigned t = 0; t < nthreads && st == MS_OK; t++) {
        st = worker_init(&workers[t], job);
        if (st != MS_OK) {
            worker_free(&workers[t]);
            break;
        }
        if (pthread_create(&threads[t], NULL, worker_main, &workers[t]) != 0) {
            worker_free(&workers[t]);
            st = ms_fail(MS_ERR_INTERNAL, "cannot start a scan thread");
            break;
        }
        started++;
    }
    if (st != MS_OK)
        fail_job(job, st);

    for (size_t i = 0; i < job->nchunks && st == MS_OK; i++) {
        pthread_mutex_lock(&job->lock);
        while (!job->results[i].done && !atomic_load(&job->abort))
            pthread_cond_wait(&job->done_cond, &job->lock);
        int ready = job->results[i].done;
        pthread_mutex_unlock(&job->lock);
        if (!ready)
            break;
        deliver(job, &d, &job->results[i], &job->chunks[i]);
        pthread_mutex_lock(&job->lock);
        job->delivered = i + 1;
        if (d.stopped)
            atomic_store(&job->abort, 1);
        pthread_cond_broadcast(&job->space_cond);
        pthread_mutex_unlock(&job->lock);
        if (d.stopped)
            break;
    }
    if (st == MS_OK)
        atomic_store(&job->abort, 1);
    pthread_mutex_lock(&job->lock);
    pthread_cond_broadcast(&job->space_cond);
    pthread_mutex_unlock(&job->lock);
    for (unsigned t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
        worker_free(&workers[t]);
    }
    if (job->error != MS_OK)
        st = ms_fail(job->error, "%s", job->error_text);
    if (st == MS_OK && !d.stopped && job->max_hits != 0 && opts->capped != NULL) {
        YR_RULE *rules = job->rules->rules->rules_table;
        for (size_t r = 0; r < job->nrules; r++)
            if (d.total[r] > job->max_hits)
                opts->capped(opts->user, rules[r].identifier, d.total[r], job->max_hits);
    }
    free(d.delivered);
    free(d.total);
    return st;
}

ms_status ms_yara_scan_regions(ms_yara_rules *rules, ms_image *image, const ms_yara_region *regions,
                               size_t count, const ms_yara_scan_options *opts, ms_yara_match_fn fn, void *user)
{
    if (rules == NULL || image == NULL || fn == NULL || (regions == NULL && count > 0))
        return ms_fail(MS_ERR_ARG, "ms_yara_scan_regions needs rules, an image, regions and a callback");
    ms_yara_scan_options defaults;
    if (opts == NULL) {
        ms_yara_scan_options_init(&defaults);
        opts = &defaults;
    }
    ms_status st = check_regions(regions, count);
    if (st != MS_OK || count == 0)
        return st;

    scan_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory starting the scan");
    job->rules = rules;
    job->image = image;
    job->regions = regions;
    job->nregions = count;
    job->nrules = rules->count;
    job->max_hits = opts->max_hits;
    job->timeout = opts->timeout;
    job->serialize_reads = ms_image_get_info(image)->compressed;
    size_t chunk_size = opts->chunk_size ? opts->chunk_size : (16u << 20);
    job->chunk_size = chunk_size < MIN_CHUNK ? MIN_CHUNK : chunk_size > MAX_CHUNK ? MAX_CHUNK : chunk_size;
    size_t overlap = opts->overlap > rules->max_string ? opts->overlap : rules->max_string;
    job->overlap = (overlap < job->chunk_size ? overlap : job->chunk_size) + MS_YARA_CONTEXT;
    pthread_mutex_init(&job->lock, NULL);
    pthread_mutex_init(&job->read_lock, NULL);
    pthread_cond_init(&job->done_cond, NULL);
    pthread_cond_init(&job->space_cond, NULL);
    atomic_init(&job->abort, 0);

    st = plan_chunks(job);
    if (st == MS_OK) {
        job->results = calloc(job->nchunks, sizeof *job->results);
        if (job->results == NULL)
            st = ms_fail(MS_ERR_NOMEM, "out of memory planning the scan");
    }
    if (st == MS_OK)
        st = run_job(job, opts, fn, user);
    if (job->results != NULL) {
        for (size_t i = 0; i < job->nchunks; i++) {
            free(job->results[i].matches);
            free(job->results[i].totals);
        }
    }
    free(job->results);
    free(job->chunks);
    pthread_cond_destroy(&job->done_cond);
    pthread_cond_destroy(&job->space_cond);
    pthread_mutex_destroy(&job->lock);
    pthread_mutex_destroy(&job->read_lock);
    free(job);
    return st;
}
