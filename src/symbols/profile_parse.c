/* Parser for the line-based profile format (docs/profiles.md). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile_internal.h"

#define MAX_PROFILE_TEXT (32u << 20)
#define MAX_TOKENS 8

typedef struct parse_state {
    ms_profile *profile;
    const char *origin;
    unsigned line;
} parse_state;

static ms_status syntax(const parse_state *ps, const char *what)
{
    return ms_fail(MS_ERR_FORMAT, "%s:%u: %s", ps->origin, ps->line, what);
}

static int parse_number(const char *s, uint64_t *out)
{
    if (*s == '\0' || *s == '-')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

static ms_status table_add(parse_state *ps, ms_profile_table *t, ms_profile_entry e)
{
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? t->capacity * 2 : 64;
        ms_profile_entry *n = realloc(t->entries, cap * sizeof *n);
        if (n == NULL)
            return ms_fail(MS_ERR_NOMEM, "%s: out of memory at line %u", ps->origin, ps->line);
        t->entries = n;
        t->capacity = cap;
    }
    e.seq = t->count;
    t->entries[t->count++] = e;
    return MS_OK;
}

/* Split a line in place on blanks; returns the token count (at most MAX_TOKENS). */
static size_t tokenize(char *line, char **tok)
{
    size_t n = 0;
    char *p = line;
    while (n < MAX_TOKENS) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (*p == '\0' || *p == '#')
            break;
        tok[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        if (*p == '\0')
            break;
        *p++ = '\0';
    }
    return n;
}

/* The rest of the line after the statement keyword, trimmed (for `source`). */
static char *rest_of_line(char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    while (*line != '\0' && *line != ' ' && *line != '\t')
        line++;
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strlen(line);
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        line[--n] = '\0';
    return line;
}

static ms_status need_numbers(const parse_state *ps, char **tok, size_t first, size_t count, uint64_t *out)
{
    for (size_t i = 0; i < count; i++)
        if (!parse_number(tok[first + i], &out[i]))
            return ms_fail(MS_ERR_FORMAT, "%s:%u: expected a number, found '%s'", ps->origin, ps->line,
                           tok[first + i]);
    return MS_OK;
}

static ms_status parse_statement(parse_state *ps, char *line)
{
    ms_profile *p = ps->profile;
    if (strncmp(line, "source", 6) == 0 && (line[6] == ' ' || line[6] == '\t')) {
        /* A profile cites several sources; the first names where it was derived from. */
        if (p->source[0] == '\0')
            p->source = rest_of_line(line);
        return MS_OK;
    }
    char *tok[MAX_TOKENS];
    size_t n = tokenize(line, tok);
    if (n == 0)
        return MS_OK;
    const char *kw = tok[0];
    uint64_t num[4];
    ms_status st;

#define EXPECT(count)                                                                   \
    do {                                                                                \
        if (n != (count))                                                               \
            return ms_fail(MS_ERR_FORMAT, "%s:%u: '%s' takes %d values, found %zu",     \
                           ps->origin, ps->line, kw, (count) - 1, n - 1);               \
    } while (0)

    if (strcmp(kw, "profile") == 0) {
        EXPECT(2);
        p->name = tok[1];
    } else if (strcmp(kw, "module") == 0) {
        EXPECT(2);
        p->module = tok[1];
    } else if (strcmp(kw, "arch") == 0) {
        EXPECT(2);
        if (strcmp(tok[1], "x64") == 0)
            p->pointer_size = 8;
        else if (strcmp(tok[1], "x86") == 0)
            p->pointer_size = 4;
        else
            return ms_fail(MS_ERR_FORMAT, "%s:%u: expected arch x86 or x64, found '%s'", ps->origin, ps->line, tok[1]);
    } else if (strcmp(kw, "builds") == 0) {
        EXPECT(3);
        if ((st = need_numbers(ps, tok, 1, 2, num)) != MS_OK)
            return st;
        if (num[0] > num[1] || num[1] > UINT32_MAX)
            return syntax(ps, "builds MIN MAX needs MIN <= MAX < 2^32");
        p->build_min = (uint32_t)num[0];
        p->build_max = (uint32_t)num[1];
    } else if (strcmp(kw, "revisions") == 0) {
        EXPECT(3);
        if ((st = need_numbers(ps, tok, 1, 2, num)) != MS_OK)
            return st;
        if (num[0] > num[1] || num[1] > 0xffff)
            return syntax(ps, "revisions MIN MAX needs MIN <= MAX <= 65535");
        p->revision_min = (uint32_t)num[0];
        p->revision_max = (uint32_t)num[1];
    } else if (strcmp(kw, "version") == 0) {
        EXPECT(2);
        p->version = tok[1];
    } else if (strcmp(kw, "pdb") == 0) {
        EXPECT(4);
        if ((st = need_numbers(ps, tok, 3, 1, num)) != MS_OK)
            return st;
        p->pdb_name = tok[1];
        p->pdb_guid = tok[2];
        p->pdb_age = (uint32_t)num[0];
    } else if (strcmp(kw, "struct") == 0) {
        EXPECT(3);
        if ((st = need_numbers(ps, tok, 2, 1, num)) != MS_OK)
            return st;
        return table_add(ps, &p->structs, (ms_profile_entry){tok[1], "", num[0], 0, 0, NULL, 0});
    } else if (strcmp(kw, "field") == 0) {
        if (n != 4 && n != 5)
            return syntax(ps, "'field' takes STRUCT PATH OFFSET [SIZE]");
        if ((st = need_numbers(ps, tok, 3, n - 3, num)) != MS_OK)
            return st;
        return table_add(ps, &p->fields, (ms_profile_entry){tok[1], tok[2], num[0], 0, 0, NULL, 0});
    } else if (strcmp(kw, "bits") == 0) {
        EXPECT(6);
        if ((st = need_numbers(ps, tok, 3, 3, num)) != MS_OK)
            return st;
        if (num[2] == 0 || num[1] + num[2] > 64)
            return syntax(ps, "bit field position + length must be within 64 bits, length > 0");
        return table_add(ps, &p->fields,
                         (ms_profile_entry){tok[1], tok[2], num[0], (uint32_t)num[1], (uint32_t)num[2], NULL, 0});
    } else if (strcmp(kw, "symbol") == 0) {
        EXPECT(3);
        if ((st = need_numbers(ps, tok, 2, 1, num)) != MS_OK)
            return st;
        return table_add(ps, &p->symbols, (ms_profile_entry){tok[1], "", num[0], 0, 0, NULL, 0});
    } else if (strcmp(kw, "candidate") == 0) {
        EXPECT(4);
        if ((st = need_numbers(ps, tok, 3, 1, num)) != MS_OK)
            return st;
        return table_add(ps, &p->candidates, (ms_profile_entry){tok[1], tok[2], num[0], 0, 0, NULL, 0});
    } else if (strcmp(kw, "const") == 0) {
        EXPECT(3);
        uint64_t v = 0;
        parse_number(tok[2], &v);
        return table_add(ps, &p->consts, (ms_profile_entry){tok[1], "", v, 0, 0, tok[2], 0});
    } else {
        return ms_fail(MS_ERR_FORMAT, "%s:%u: unknown statement '%s'", ps->origin, ps->line, kw);
    }
#undef EXPECT
    return MS_OK;
}

ms_status ms_profile_parse(const char *text, size_t len, const char *origin, ms_profile **out)
{
    if (text == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_profile_parse needs text and an out-parameter");
    if (origin == NULL)
        origin = "profile";
    if (len > MAX_PROFILE_TEXT)
        return ms_fail(MS_ERR_LIMIT, "%s: profile text of %zu bytes exceeds the %u-byte limit", origin, len,
                       MAX_PROFILE_TEXT);
    ms_profile *p = calloc(1, sizeof *p);
    char *buf = malloc(len + 1);
    if (p == NULL || buf == NULL) {
        free(p);
        free(buf);
        return ms_fail(MS_ERR_NOMEM, "%s: out of memory", origin);
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        free(p);
        free(buf);
        return ms_fail(MS_ERR_FORMAT, "%s: expected a text profile, found a NUL byte", origin);
    }
    p->buffer = buf;
    p->source = "";
    p->revision_max = 0xffff;

    parse_state ps = {p, origin, 0};
    ms_status st = MS_OK;
    char *line = buf;
    while (line != NULL && st == MS_OK) {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        ps.line++;
        st = parse_statement(&ps, line);
        line = next;
    }
    if (st == MS_OK && (p->name == NULL || p->module == NULL || p->pointer_size == 0 || p->build_max == 0))
        st = ms_fail(MS_ERR_FORMAT, "%s: a profile needs 'profile', 'module', 'arch' and 'builds' statements", origin);
    if (st != MS_OK) {
        ms_profile_destroy(p);
        return st;
    }
    ms_profile_table_finish(&p->structs);
    ms_profile_table_finish(&p->fields);
    ms_profile_table_finish(&p->symbols);
    ms_profile_table_finish(&p->consts);
    ms_profile_table_finish(&p->candidates);
    *out = p;
    return MS_OK;
}

void ms_profile_destroy(ms_profile *p)
{
    if (p == NULL)
        return;
    free(p->structs.entries);
    free(p->fields.entries);
    free(p->symbols.entries);
    free(p->consts.entries);
    free(p->candidates.entries);
    free(p->buffer);
    free(p);
}
