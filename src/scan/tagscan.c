/* ms_tagscan: the scanner object, its options and tags. */
#include "tagscan_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CHUNK (4u << 20)
#define MIN_CHUNK (64u << 10)
#define MAX_CHUNK (256u << 20)
#define MAX_THREADS 64u
/* The scan is bound by memory bandwidth well before 4 cores, and each
 * thread may hold a chunk and its hits. */
#define DEFAULT_MAX_THREADS 4

void ms_tagscan_options_init(ms_tagscan_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->layout = MS_POOL_X64;
    opts->kernel = MS_TAGSCAN_AUTO;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > DEFAULT_MAX_THREADS ? DEFAULT_MAX_THREADS : (unsigned)n;
}

ms_status ms_tagscan_create(const ms_tagscan_options *opts, ms_tagscan **out)
{
    if (out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tagscan_create needs an out-parameter");
    ms_tagscan_options defaults;
    if (opts == NULL) {
        ms_tagscan_options_init(&defaults);
        opts = &defaults;
    }
    if (opts->layout != MS_POOL_X86 && opts->layout != MS_POOL_X64)
        return ms_fail(MS_ERR_ARG, "expected pool layout MS_POOL_X86 or MS_POOL_X64, found %d", (int)opts->layout);
    if (opts->threads > MAX_THREADS)
        return ms_fail(MS_ERR_ARG, "at most %u scan threads, asked for %u", MAX_THREADS, opts->threads);
    size_t chunk = opts->chunk_size ? opts->chunk_size : DEFAULT_CHUNK;
    if (chunk < MIN_CHUNK || chunk > MAX_CHUNK)
        return ms_fail(MS_ERR_ARG, "scan chunk size must be %u KiB to %u MiB, found %zu bytes", MIN_CHUNK >> 10,
                       MAX_CHUNK >> 20, chunk);
    ms_tag_searcher searcher;
    ms_status st = ms_tag_searcher_pick(opts->kernel, ms_pool_unit(opts->layout), &searcher);
    if (st != MS_OK)
        return st;
    ms_tagscan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory creating a tag scanner");
    s->opts = *opts;
    s->searcher = searcher;
    s->threads = opts->threads ? opts->threads : default_threads();
    s->chunk_size = (chunk + 0xfffu) & ~(size_t)0xfffu;
    *out = s;
    return MS_OK;
}

void ms_tagscan_destroy(ms_tagscan *scanner)
{
    free(scanner);
}

ms_status ms_tagscan_add_tag(ms_tagscan *scanner, const char tag[4], const ms_pool_rule *rule, size_t *index)
{
    if (scanner == NULL || tag == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tagscan_add_tag needs a scanner and a tag");
    ms_tagset *set = &scanner->set;
    if (set->count == MS_TAGSCAN_MAX_TAGS)
        return ms_fail(MS_ERR_LIMIT, "a tag scanner holds at most %d tags", MS_TAGSCAN_MAX_TAGS);
    uint32_t value = ms_pool_tag_value(tag);
    for (unsigned k = 0; k < set->count; k++)
        if (set->tags[k] == value)
            return ms_fail(MS_ERR_ARG, "tag '%.4s' was added twice", tag);
    if (rule != NULL)
        scanner->rules[set->count] = *rule;
    else
        ms_pool_rule_init(&scanner->rules[set->count]);
    set->tags[set->count] = value;
    set->first_byte[(uint8_t)tag[0]] = 1;
    if (index != NULL)
        *index = set->count;
    set->count++;
    return MS_OK;
}

const char *ms_tagscan_kernel_name(const ms_tagscan *scanner)
{
    return scanner->searcher.name;
}
