/* Collecting rule sources and compiling them (or loading the cached
 * compiled form).  Sources are read into memory first, so that what is
 * hashed for the cache is exactly what is compiled. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "yara_internal.h"

#define MAX_FILE_BYTES (64u << 20)
#define MAX_TOTAL_BYTES (256u << 20)
#define MAX_SOURCES 100000

typedef struct rule_source {
    char *text;
    size_t len;
    char *origin;       /* path, or "--rule 1" */
    int is_file;
    int from_dir;       /* may be skipped when skip_bad_files */
    int skipped;
} rule_source;

struct ms_yara_compiler {
    ms_yara_compile_options opts;
    rule_source *sources;
    size_t count, cap;
    size_t total;
};

/* What the compiler callback collects. */
typedef struct compile_errors {
    const ms_yara_compile_options *opts;
    const rule_source *current;
    int errors;
    char first[400];
} compile_errors;

void ms_yara_compile_options_init(ms_yara_compile_options *opts)
{
    memset(opts, 0, sizeof *opts);
}

ms_status ms_yara_compiler_create(const ms_yara_compile_options *opts, ms_yara_compiler **out)
{
    if (out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_yara_compiler_create needs an out pointer");
    ms_yara_compiler *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory creating a rule compiler");
    if (opts != NULL)
        c->opts = *opts;
    *out = c;
    return MS_OK;
}

void ms_yara_compiler_destroy(ms_yara_compiler *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->count; i++) {
        free(c->sources[i].text);
        free(c->sources[i].origin);
    }
    free(c->sources);
    free(c);
}

/* Takes ownership of text. */
static ms_status add_source(ms_yara_compiler *c, char *text, size_t len, const char *origin, int is_file,
                            int from_dir)
{
    if (c->count == MAX_SOURCES || len > MAX_TOTAL_BYTES - c->total) {
        free(text);
        return ms_fail(MS_ERR_LIMIT, "too many rule sources (limit %u files, %u MiB)", MAX_SOURCES,
                       MAX_TOTAL_BYTES >> 20);
    }
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        rule_source *s = realloc(c->sources, cap * sizeof *s);
        if (s == NULL) {
            free(text);
            return ms_fail(MS_ERR_NOMEM, "out of memory adding rules");
        }
        c->sources = s;
        c->cap = cap;
    }
    char *o = strdup(origin);
    if (o == NULL) {
        free(text);
        return ms_fail(MS_ERR_NOMEM, "out of memory adding rules");
    }
    c->sources[c->count++] = (rule_source){text, len, o, is_file, from_dir, 0};
    c->total += len;
    return MS_OK;
}

ms_status ms_yara_compiler_add_string(ms_yara_compiler *c, const char *source, const char *origin)
{
    if (c == NULL || source == NULL)
        return ms_fail(MS_ERR_ARG, "ms_yara_compiler_add_string needs a compiler and a source");
    char *text = strdup(source);
    if (text == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory adding rules");
    return add_source(c, text, strlen(text), origin ? origin : "rule text", 0, 0);
}

static ms_status read_rule_file(ms_yara_compiler *c, const char *path, int from_dir)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ms_fail(MS_ERR_IO, "cannot read rules '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ms_fail(MS_ERR_IO, "cannot read rules '%s': not a regular file", path);
    }
    if (st.st_size > (off_t)MAX_FILE_BYTES) {
        fclose(f);
        return ms_fail(MS_ERR_LIMIT, "rule file '%s' is %lld bytes; the limit is %u MiB", path,
                       (long long)st.st_size, MAX_FILE_BYTES >> 20);
    }
    size_t size = (size_t)st.st_size;
    char *text = malloc(size + 1);
    if (text == NULL) {
        fclose(f);
        return ms_fail(MS_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    size_t got = fread(text, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != size) {
        free(text);
        return ms_fail(MS_ERR_IO, "cannot read rules '%s': short read", path);
    }
    text[size] = '\0';
    if (size >= 4 && memcmp(text, "YARA", 4) == 0) {
        free(text);
        return ms_fail(MS_ERR_FORMAT, "'%s' is a compiled YARA rule file; give the rule source instead", path);
    }
    if (memchr(text, '\0', size) != NULL) {
        free(text);
        return ms_fail(MS_ERR_FORMAT, "'%s' is not a YARA rule source: it holds NUL bytes", path);
    }
    return add_source(c, text, size, path, 1, from_dir);
}

static int is_rule_name(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.')
        return 0;
    return (n > 4 && strcasecmp(name + n - 4, ".yar") == 0) || (n > 5 && strcasecmp(name + n - 5, ".yara") == 0);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ms_status add_directory(ms_yara_compiler *c, const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return ms_fail(MS_ERR_IO, "cannot read the rule directory '%s': %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    ms_status st = MS_OK;
    struct dirent *e;
    while (st == MS_OK && (e = readdir(d)) != NULL) {
        if (!is_rule_name(e->d_name))
            continue;
        if (n == MAX_SOURCES) {
            st = ms_fail(MS_ERR_LIMIT, "'%s' holds more than %u rule files", path, MAX_SOURCES);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof *grown);
            if (grown == NULL) {
                st = ms_fail(MS_ERR_NOMEM, "out of memory listing '%s'", path);
                break;
            }
            names = grown;
        }
        if ((names[n] = strdup(e->d_name)) == NULL)
            st = ms_fail(MS_ERR_NOMEM, "out of memory listing '%s'", path);
        else
            n++;
    }
    closedir(d);
    if (st == MS_OK && n == 0)
        st = ms_fail(MS_ERR_NOT_FOUND, "the rule directory '%s' holds no *.yar or *.yara files", path);
    if (st == MS_OK)
        qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 0; st == MS_OK && i < n; i++) {
        char full[4096];
        if (snprintf(full, sizeof full, "%s/%s", path, names[i]) >= (int)sizeof full)
            st = ms_fail(MS_ERR_ARG, "rule file path '%s/%s' is too long", path, names[i]);
        else
            st = read_rule_file(c, full, 1);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

ms_status ms_yara_compiler_add_path(ms_yara_compiler *c, const char *path)
{
    if (c == NULL || path == NULL || path[0] == '\0')
        return ms_fail(MS_ERR_ARG, "ms_yara_compiler_add_path needs a compiler and a path");
    struct stat st;
    if (stat(path, &st) != 0)
        return ms_fail(MS_ERR_IO, "cannot read rules '%s': %s", path, strerror(errno));
    return S_ISDIR(st.st_mode) ? add_directory(c, path) : read_rule_file(c, path, 0);
}

static void on_compile_message(int level, const char *file, int line, const YR_RULE *rule, const char *message,
                               void *user)
{
    (void)rule;
    compile_errors *e = user;
    char where[300];
    const rule_source *src = e->current;
    if (file != NULL && (src == NULL || !src->is_file || strcmp(file, src->origin) != 0))
        snprintf(where, sizeof where, "%s:%d", file, line);
    else if (src != NULL && src->is_file)
        snprintf(where, sizeof where, "%s:%d", src->origin, line);
    else
        snprintf(where, sizeof where, "%s, line %d", src ? src->origin : "rules", line);
    if (level == YARA_ERROR_LEVEL_ERROR) {
        if (e->errors++ == 0)
            snprintf(e->first, sizeof e->first, "%s: %s", where, message);
    } else if (e->opts->log != NULL) {
        char text[512];
        snprintf(text, sizeof text, "%s: %s", where, message);
        e->opts->log(e->opts->log_user, 1, text);
    }
}

/* Compile the sources not skipped; on a syntax error fills errors->first. */
static ms_status compile_sources(ms_yara_compiler *c, size_t first, size_t end, compile_errors *errors,
                                 YR_RULES **out)
{
    YR_COMPILER *yc;
    if (yr_compiler_create(&yc) != ERROR_SUCCESS)
        return ms_fail(MS_ERR_NOMEM, "out of memory creating a YARA compiler");
    yr_compiler_set_callback(yc, on_compile_message, errors);
    ms_status st = MS_OK;
    for (size_t i = first; i < end && st == MS_OK; i++) {
        rule_source *s = &c->sources[i];
        if (s->skipped || s->len == 0)
            continue;
        errors->current = s;
        /* A FILE over the in-memory text gives libyara the file name, for
         * messages and for resolving includes beside the file. */
        FILE *f = fmemopen(s->text, s->len, "r");
        if (f == NULL) {
            st = ms_fail(MS_ERR_NOMEM, "cannot open the rules of %s for compiling", s->origin);
            break;
        }
        int nerr = yr_compiler_add_file(yc, f, s->origin, s->is_file ? s->origin : NULL);
        fclose(f);
        if (nerr > 0) {
            if (errors->errors == 0)
                snprintf(errors->first, sizeof errors->first, "%s: does not compile", s->origin);
            st = MS_ERR_FORMAT;
        }
    }
    errors->current = NULL;
    if (st == MS_OK) {
        int rc = yr_compiler_get_rules(yc, out);
        if (rc != ERROR_SUCCESS)
            st = ms_fail(MS_ERR_INTERNAL, "libyara could not produce the compiled rules: %s", ms_yara_error_name(rc));
    }
    yr_compiler_destroy(yc);
    return st;
}

static void skip_bad_files(ms_yara_compiler *c)
{
    for (size_t i = 0; i < c->count; i++) {
        rule_source *s = &c->sources[i];
        if (!s->from_dir)
            continue;
        ms_yara_compile_options quiet = c->opts;
        quiet.log = NULL;
        compile_errors e = {&quiet, NULL, 0, ""};
        YR_RULES *rules = NULL;
        ms_status st = compile_sources(c, i, i + 1, &e, &rules);
        if (rules != NULL)
            yr_rules_destroy(rules);
        if (st == MS_ERR_FORMAT) {
            s->skipped = 1;
            if (c->opts.log != NULL) {
                char text[512];
                snprintf(text, sizeof text, "skipping %s: %s", s->origin, e.first);
                c->opts.log(c->opts.log_user, 1, text);
            }
        }
    }
}

static void digest_sources(const ms_yara_compiler *c, uint8_t digest[32])
{
    static const char tag[] = "memsift yara rules v1 " YR_VERSION;
    ms_sha256 h;
    ms_sha256_init(&h);
    ms_sha256_update(&h, tag, sizeof tag);
    for (size_t i = 0; i < c->count; i++) {
        const rule_source *s = &c->sources[i];
        if (s->skipped)
            continue;
        uint64_t len = s->len;
        ms_sha256_update(&h, s->origin, strlen(s->origin) + 1);
        ms_sha256_update(&h, &s->is_file, sizeof s->is_file);
        ms_sha256_update(&h, &len, sizeof len);
        ms_sha256_update(&h, s->text, s->len);
    }
    ms_sha256_final(&h, digest);
}

static void note(const ms_yara_compiler *c, const char *message)
{
    if (c->opts.log != NULL)
        c->opts.log(c->opts.log_user, 0, message);
}

/* Included files are not part of the digest, so sets with includes are not cached. */
static int cacheable(const ms_yara_compiler *c)
{
    if (c->opts.cache_dir == NULL || c->opts.cache_dir[0] == '\0')
        return 0;
    for (size_t i = 0; i < c->count; i++)
        if (!c->sources[i].skipped && strstr(c->sources[i].text, "include") != NULL)
            return 0;
    return 1;
}

static const char *describe_sources(const ms_yara_compiler *c)
{
    return c->count == 1 ? c->sources[0].origin : "the rule set";
}

ms_status ms_yara_compiler_finish(ms_yara_compiler *c, ms_yara_rules **out)
{
    if (c == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_yara_compiler_finish needs a compiler and an out pointer");
    if (c->count == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "no YARA rules were given");
    ms_status st = ms_yara_acquire();
    if (st != MS_OK)
        return st;
    ms_yara_rules *r = calloc(1, sizeof *r);
    if (r == NULL) {
        ms_yara_release();
        return ms_fail(MS_ERR_NOMEM, "out of memory compiling rules");
    }
    if (c->opts.skip_bad_files)
        skip_bad_files(c);

    uint8_t digest[32];
    int use_cache = cacheable(c);
    if (use_cache) {
        digest_sources(c, digest);
        st = ms_yara_cache_load(c->opts.cache_dir, digest, &r->rules);
        if (st == MS_OK) {
            r->from_cache = 1;
            note(c, "loaded compiled rules from the cache");
        } else if (st != MS_ERR_NOT_FOUND) {
            char text[600];
            snprintf(text, sizeof text, "%s; compiling instead", ms_last_error());
            note(c, text);
        }
    }
    if (r->rules == NULL) {
        compile_errors e = {&c->opts, NULL, 0, ""};
        st = compile_sources(c, 0, c->count, &e, &r->rules);
        if (st == MS_ERR_FORMAT) {
            if (e.errors > 1)
                st = ms_fail(MS_ERR_FORMAT, "%s (and %d more errors)", e.first, e.errors - 1);
            else
                st = ms_fail(MS_ERR_FORMAT, "%s", e.first);
        }
        if (st != MS_OK) {
            free(r);
            ms_yara_release();
            return st;
        }
    }
    ms_yara_rules_measure(r);
    if (r->count == 0) {
        st = ms_fail(MS_ERR_NOT_FOUND, "the rule set is empty: %s holds no rules", describe_sources(c));
        ms_yara_rules_destroy(r);
        return st;
    }
    if (use_cache && !r->from_cache && ms_yara_cache_save(c->opts.cache_dir, digest, r->rules) != MS_OK) {
        char text[600];
        snprintf(text, sizeof text, "compiled rules not cached: %s", ms_last_error());
        note(c, text);
    }
    ms_clear_error();
    *out = r;
    return MS_OK;
}

void ms_yara_rules_measure(ms_yara_rules *r)
{
    YR_RULE *rule;
    YR_STRING *string;
    r->count = 0;
    r->max_string = 0;
    yr_rules_foreach(r->rules, rule)
    {
        r->count++;
        yr_rule_strings_foreach(rule, string)
        {
            size_t len = string->length > 0 ? (size_t)string->length : 0;
            if (STRING_IS_WIDE(string) || STRING_IS_BASE64_WIDE(string))
                len *= 2;
            if (string->chain_gap_max > 0)
                len += (size_t)string->chain_gap_max;
            if (len > r->max_string)
                r->max_string = len;
        }
    }
}

void ms_yara_rules_destroy(ms_yara_rules *rules)
{
    if (rules == NULL)
        return;
    if (rules->rules != NULL)
        yr_rules_destroy(rules->rules);
    free(rules);
    ms_yara_release();
}

size_t ms_yara_rules_count(const ms_yara_rules *rules)
{
    return rules ? rules->count : 0;
}

int ms_yara_rules_from_cache(const ms_yara_rules *rules)
{
    return rules ? rules->from_cache : 0;
}
