/* yarascan: YARA rules over physical memory, kernel space and process
 * address spaces. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memsift/memsift.h"
#include "memsift/yara.h"
#include "registry.h"

#define X64_KERNEL_START 0xffff800000000000ull
#define X64_USER_END 0x7fffffff0000ull
#define X86_KERNEL_START 0x80000000ull
#define X86_END 0x100000000ull
#define MAX_RULE_TEXT 65536

static const ms_option_spec options[] = {
    {"rules", MS_OPT_STRING, "FILE|DIR", "YARA rule file, or a directory of *.yar/*.yara files (repeatable)"},
    {"rule", MS_OPT_STRING, "TEXT", "YARA rule source given inline (repeatable)"},
    {"string", MS_OPT_STRING, "TEXT", "search for TEXT as ASCII/UTF-8 and UTF-16LE (repeatable)"},
    {"hex", MS_OPT_STRING, "HEX", "search for a hex pattern such as \"4D 5A ?? 00\" (repeatable)"},
    {"nocase", MS_OPT_FLAG, NULL, "--string ignores case"},
    {"physical", MS_OPT_FLAG, NULL, "scan all physical memory"},
    {"kernel", MS_OPT_FLAG, NULL, "scan every mapped kernel address"},
    {"pid", MS_OPT_INT, "PID", "scan the user space of this process (repeatable)"},
    {"name", MS_OPT_STRING, "NAME", "scan the user space of processes with this name (repeatable)"},
    {"max-hits", MS_OPT_INT, "N", "rows per rule and scanned space; 0 for no cap (default 1000)"},
    {"threads", MS_OPT_INT, "N", "scan threads (default: one per CPU)"},
    {"skip-bad-rules", MS_OPT_FLAG, NULL, "leave out rule files of a directory that do not compile"},
    {"no-rule-cache", MS_OPT_FLAG, NULL, "do not load or save compiled rules in ~/.cache/memsift"},
};

static const ms_column columns[] = {
    {"Offset", MS_VT_ADDR, 18},  {"PhysicalOffset", MS_VT_ADDR, 14}, {"PID", MS_VT_UINT, 6},
    {"Process", MS_VT_STR, 14},  {"Module", MS_VT_STR, 12},         {"Rule", MS_VT_STR, 16},
    {"Component", MS_VT_STR, 9}, {"Value", MS_VT_STR, 0},
};

typedef struct mod_entry {
    uint64_t base, size;
    char name[128];
} mod_entry;

typedef struct scope {
    ms_vspace *vs;           /* owned for processes; NULL for physical */
    int is_process, is_kernel;
    uint64_t pid;
    char name[260];
    ms_yara_region *regions;
    size_t count;
    uint64_t bytes;
} scope;

typedef struct run_state {
    ms_plugin_context *ctx;
    ms_kernel *kernel;
    ms_yara_rules *rules;
    scope *scopes;
    size_t nscopes, cap;
    mod_entry *modules;
    size_t nmodules, modcap;
    const scope *current;
    uint64_t done_before, total;
    ms_status status;
} run_state;

/* ---- rules ---- */

static void on_compile_log(void *user, int is_warning, const char *message)
{
    ms_plugin_log(user, is_warning ? MS_LOG_WARNING : MS_LOG_INFO, "%s", message);
}

static ms_status add_built_rule(ms_yara_compiler *c, const char *kind, size_t index, const char *value, int nocase)
{
    char name[32], origin[32];
    snprintf(name, sizeof name, "%s_%zu", kind, index + 1);
    snprintf(origin, sizeof origin, "--%s %zu", kind, index + 1);
    char *text = malloc(MAX_RULE_TEXT);
    if (text == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory building a rule");
    ms_status st = strcmp(kind, "hex") == 0 ? ms_yara_rule_for_hex(name, value, text, MAX_RULE_TEXT)
                                            : ms_yara_rule_for_text(name, value, nocase, text, MAX_RULE_TEXT);
    if (st != MS_OK) {
        char saved[400];
        snprintf(saved, sizeof saved, "%s", ms_last_error());
        st = ms_fail(st, "%s: %s", origin, saved);
    } else {
        st = ms_yara_compiler_add_string(c, text, origin);
    }
    free(text);
    return st;
}

static void cache_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    buf[0] = '\0';
    if (xdg != NULL && xdg[0] == '/')
        snprintf(buf, size, "%s/memsift", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(buf, size, "%s/.cache/memsift", home);
}

static ms_status load_rules(ms_plugin_context *ctx, ms_yara_rules **out)
{
    char dir[4096];
    int have_files = ms_plugin_string_at(ctx, "rules", 0) != NULL;
    cache_dir(dir, sizeof dir);
    ms_yara_compile_options copts;
    ms_yara_compile_options_init(&copts);
    copts.cache_dir = have_files && !ms_plugin_flag(ctx, "no-rule-cache") && dir[0] ? dir : NULL;
    copts.skip_bad_files = ms_plugin_flag(ctx, "skip-bad-rules");
    copts.log = on_compile_log;
    copts.log_user = ctx;
    ms_yara_compiler *c;
    ms_status st = ms_yara_compiler_create(&copts, &c);
    if (st != MS_OK)
        return st;
    size_t sources = 0;
    const char *v;
    for (size_t i = 0; st == MS_OK && (v = ms_plugin_string_at(ctx, "rules", i)) != NULL; i++, sources++)
        st = ms_yara_compiler_add_path(c, v);
    for (size_t i = 0; st == MS_OK && (v = ms_plugin_string_at(ctx, "rule", i)) != NULL; i++, sources++) {
        char origin[32];
        snprintf(origin, sizeof origin, "--rule %zu", i + 1);
        st = ms_yara_compiler_add_string(c, v, origin);
    }
    for (size_t i = 0; st == MS_OK && (v = ms_plugin_string_at(ctx, "string", i)) != NULL; i++, sources++)
        st = add_built_rule(c, "string", i, v, ms_plugin_flag(ctx, "nocase"));
    for (size_t i = 0; st == MS_OK && (v = ms_plugin_string_at(ctx, "hex", i)) != NULL; i++, sources++)
        st = add_built_rule(c, "hex", i, v, 0);
    if (st == MS_OK && sources == 0)
        st = ms_fail(MS_ERR_ARG, "yarascan needs rules: give --rules FILE|DIR, --rule TEXT, --string TEXT or --hex "
                                 "PATTERN");
    if (st == MS_OK)
        st = ms_yara_compiler_finish(c, out);
    ms_yara_compiler_destroy(c);
    if (st == MS_OK)
        ms_plugin_log(ctx, MS_LOG_INFO, "%zu YARA rules %s", ms_yara_rules_count(*out),
                      ms_yara_rules_from_cache(*out) ? "loaded from the cache" : "compiled");
    return st;
}

/* ---- scopes ---- */

static scope *new_scope(run_state *s)
{
    if (s->nscopes == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        scope *grown = realloc(s->scopes, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        s->scopes = grown;
        s->cap = cap;
    }
    scope *sc = &s->scopes[s->nscopes++];
    memset(sc, 0, sizeof *sc);
    return sc;
}

static void free_scopes(run_state *s)
{
    for (size_t i = 0; i < s->nscopes; i++) {
        if (s->scopes[i].is_process)
            ms_vspace_destroy(s->scopes[i].vs);
        free(s->scopes[i].regions);
    }
    free(s->scopes);
}

static ms_status add_region_list(scope *sc, ms_yara_region *more, size_t n)
{
    if (n == 0) {
        free(more);
        return MS_OK;
    }
    ms_yara_region *grown = realloc(sc->regions, (sc->count + n) * sizeof *grown);
    if (grown == NULL) {
        free(more);
        return ms_fail(MS_ERR_NOMEM, "out of memory listing regions");
    }
    memcpy(grown + sc->count, more, n * sizeof *more);
    free(more);
    sc->regions = grown;
    sc->count += n;
    return MS_OK;
}

static ms_status add_vspace_range(scope *sc, uint64_t start, uint64_t end)
{
    ms_yara_region *r;
    size_t n;
    ms_status st = ms_yara_vspace_regions(sc->vs, start, end, 0, &r, &n);
    return st == MS_OK ? add_region_list(sc, r, n) : st;
}

static void measure(scope *sc)
{
    for (size_t i = 0; i < sc->count; i++)
        sc->bytes += sc->regions[i].length;
}

static ms_status plan_physical(run_state *s)
{
    ms_image *image = ms_plugin_image(s->ctx);
    const ms_image_info *info = ms_image_get_info(image);
    scope *sc = new_scope(s);
    if (sc == NULL || (info->range_count > 0 && (sc->regions = malloc(info->range_count * sizeof *sc->regions)) == NULL))
        return ms_fail(MS_ERR_NOMEM, "out of memory listing physical ranges");
    for (size_t i = 0; i < info->range_count; i++) {
        ms_phys_range r;
        ms_status st = ms_image_range(image, i, &r);
        if (st != MS_OK)
            return st;
        if (r.length > 0)
            sc->regions[sc->count++] = (ms_yara_region){r.start, r.start, r.length};
    }
    measure(sc);
    return MS_OK;
}

/* The x64 PML4 slot that maps the page tables themselves; scanning it
 * would only scan page tables.  -1 when there is none. */
static int self_map_slot(ms_image *image, uint64_t dtb)
{
    uint8_t table[4096];
    uint64_t root = dtb & ~0xfffull;
    if (ms_image_read(image, root, table, sizeof table) != MS_OK)
        return -1;
    for (int i = 256; i < 512; i++) {
        uint64_t e;
        memcpy(&e, table + 8 * i, 8);
        if ((e & 1) && (e & 0x000ffffffffff000ull) == root)
            return i;
    }
    return -1;
}

static ms_status plan_kernel(run_state *s)
{
    scope *sc = new_scope(s);
    if (sc == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory planning the scan");
    sc->vs = ms_kernel_vspace(s->kernel);
    sc->is_kernel = 1;
    snprintf(sc->name, sizeof sc->name, "kernel");
    ms_status st;
    if (ms_vspace_mode(sc->vs) == MS_PAGING_X64) {
        int slot = self_map_slot(ms_plugin_image(s->ctx), ms_vspace_dtb(sc->vs));
        uint64_t self_start = slot < 0 ? UINT64_MAX : 0xffff000000000000ull | ((uint64_t)slot << 39);
        uint64_t self_end = slot < 0 ? UINT64_MAX : self_start + (1ull << 39);
        st = add_vspace_range(sc, X64_KERNEL_START, self_start);
        if (st == MS_OK && slot >= 0)
            st = add_vspace_range(sc, self_end, UINT64_MAX);
        if (slot >= 0)
            ms_plugin_log(s->ctx, MS_LOG_DEBUG, "kernel scan skips the page-table self-map at 0x%" PRIx64,
                          self_start);
    } else {
        st = add_vspace_range(sc, X86_KERNEL_START, X86_END);
    }
    measure(sc);
    return st;
}

typedef struct process_list {
    ms_process *items;
    size_t count, cap;
    int failed;
} process_list;

static int collect_process(const ms_process *p, void *user)
{
    process_list *l = user;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ms_process *grown = realloc(l->items, cap * sizeof *grown);
        if (grown == NULL) {
            l->failed = 1;
            return 1;
        }
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->count++] = *p;
    return 0;
}

static int name_matches(const ms_process *p, const char *name)
{
    return strcasecmp(p->name, name) == 0 || (p->full_name[0] && strcasecmp(p->full_name, name) == 0);
}

static int process_selected(ms_plugin_context *ctx, const ms_process *p, int filtered)
{
    if (!filtered)
        return 1;
    const char *v;
    for (size_t i = 0; (v = ms_plugin_string_at(ctx, "pid", i)) != NULL; i++)
        if (strtoull(v, NULL, 0) == p->pid)
            return 1;
    for (size_t i = 0; (v = ms_plugin_string_at(ctx, "name", i)) != NULL; i++)
        if (name_matches(p, v))
            return 1;
    return 0;
}

static void warn_unmatched_filters(ms_plugin_context *ctx, const process_list *l)
{
    const char *v;
    for (size_t i = 0; (v = ms_plugin_string_at(ctx, "pid", i)) != NULL; i++) {
        size_t j = 0;
        while (j < l->count && l->items[j].pid != strtoull(v, NULL, 0))
            j++;
        if (j == l->count)
            ms_plugin_log(ctx, MS_LOG_WARNING, "no process has PID %s", v);
    }
    for (size_t i = 0; (v = ms_plugin_string_at(ctx, "name", i)) != NULL; i++) {
        size_t j = 0;
        while (j < l->count && !name_matches(&l->items[j], v))
            j++;
        if (j == l->count)
            ms_plugin_log(ctx, MS_LOG_WARNING, "no process is named '%s'", v);
    }
}

static ms_status plan_processes(run_state *s, int filtered, size_t *selected)
{
    process_list l = {NULL, 0, 0, 0};
    ms_status st = ms_kernel_processes(s->kernel, collect_process, &l);
    if (st == MS_OK && l.failed)
        st = ms_fail(MS_ERR_NOMEM, "out of memory listing processes");
    ms_vspace *kvs = ms_kernel_vspace(s->kernel);
    ms_paging_mode mode = ms_vspace_mode(kvs);
    uint64_t user_end = mode == MS_PAGING_X64 ? X64_USER_END : X86_KERNEL_START;
    *selected = 0;
    for (size_t i = 0; st == MS_OK && i < l.count; i++) {
        const ms_process *p = &l.items[i];
        if (!process_selected(s->ctx, p, filtered))
            continue;
        (*selected)++;
        if (p->dtb == 0) {
            ms_plugin_log(s->ctx, MS_LOG_WARNING, "process %" PRIu64 " (%s) has no page tables; skipped", p->pid,
                          p->name);
            continue;
        }
        scope *sc = new_scope(s);
        if (sc == NULL) {
            st = ms_fail(MS_ERR_NOMEM, "out of memory planning the scan");
            break;
        }
        sc->is_process = 1;
        sc->pid = p->pid;
        snprintf(sc->name, sizeof sc->name, "%s", p->full_name[0] ? p->full_name : p->name);
        ms_status pst = ms_vspace_create(ms_plugin_image(s->ctx), mode, p->dtb, &sc->vs);
        if (pst == MS_OK)
            pst = add_vspace_range(sc, 0, user_end);
        if (pst != MS_OK)
            ms_plugin_log(s->ctx, MS_LOG_WARNING, "process %" PRIu64 " (%s) not scanned: %s", p->pid, sc->name,
                          ms_last_error());
        measure(sc);
    }
    if (st == MS_OK && filtered)
        warn_unmatched_filters(s->ctx, &l);
    free(l.items);
    return st;
}

static int collect_module(const ms_module *m, void *user)
{
    run_state *s = user;
    if (s->nmodules == s->modcap) {
        size_t cap = s->modcap ? s->modcap * 2 : 64;
        mod_entry *grown = realloc(s->modules, cap * sizeof *grown);
        if (grown == NULL)
            return 1;
        s->modules = grown;
        s->modcap = cap;
    }
    mod_entry *e = &s->modules[s->nmodules++];
    e->base = m->base;
    e->size = m->size;
    snprintf(e->name, sizeof e->name, "%s", m->name);
    return 0;
}

static int compare_modules(const void *a, const void *b)
{
    const mod_entry *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

static const char *module_at(const run_state *s, uint64_t address)
{
    size_t lo = 0, hi = s->nmodules;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->modules[mid].base <= address)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Modules do not overlap in a sane image; look back a few in case one does. */
    for (size_t i = lo, seen = 0; i > 0 && seen < 4; i--, seen++) {
        const mod_entry *m = &s->modules[i - 1];
        if (address - m->base < m->size)
            return m->name;
    }
    return NULL;
}

/* ---- rows ---- */

static void format_value(const ms_yara_match *m, char *buf, size_t size)
{
    size_t used = 0;
#define PUT(...)                                                                \
    do {                                                                        \
        int n_ = snprintf(buf + used, size - used, __VA_ARGS__);                \
        if (n_ > 0)                                                             \
            used = (size_t)n_ < size - used ? used + (size_t)n_ : size - 1;     \
    } while (0)
    size_t match_end = m->match_at + m->match_shown;
    for (size_t i = 0; i < m->context_len; i++) {
        if (i == m->match_at)
            PUT("%s[", i ? " " : "");
        else if (i > 0)
            PUT(" ");
        PUT("%02x", m->context[i]);
        if (i + 1 == match_end) {
            if (m->length > m->match_shown)
                PUT(" ...+%u", (unsigned)(m->length - m->match_shown));
            PUT("]");
        }
    }
    PUT(" | ");
    for (size_t i = 0; i < m->context_len; i++)
        PUT("%c", m->context[i] >= 0x20 && m->context[i] < 0x7f ? m->context[i] : '.');
#undef PUT
}

static int emit_match(const ms_yara_match *m, void *user)
{
    run_state *s = user;
    const scope *sc = s->current;
    char value[512];
    format_value(m, value, sizeof value);
    const char *module = sc->is_kernel ? module_at(s, m->address) : NULL;
    ms_value row[] = {
        ms_val_uint(m->address),
        m->paddr == UINT64_MAX ? ms_val_null() : ms_val_uint(m->paddr),
        sc->is_process ? ms_val_uint(sc->pid) : ms_val_null(),
        sc->is_process ? ms_val_str(sc->name) : ms_val_null(),
        ms_val_str(module),
        ms_val_str(m->rule),
        ms_val_str(m->string_id),
        ms_val_str(value),
    };
    s->status = ms_plugin_emit(s->ctx, row);
    return s->status != MS_OK;
}

static void on_capped(void *user, const char *rule, uint64_t total, uint64_t max_hits)
{
    run_state *s = user;
    const scope *sc = s->current;
    char where[320];
    if (sc->is_process)
        snprintf(where, sizeof where, "process %" PRIu64 " (%s)", sc->pid, sc->name);
    else
        snprintf(where, sizeof where, "%s", sc->is_kernel ? "kernel space" : "physical memory");
    ms_plugin_log(s->ctx, MS_LOG_WARNING, "rule %s matched %" PRIu64 " times in %s; showing the first %" PRIu64
                  " (--max-hits)", rule, total, where, max_hits);
}

static void on_progress(void *user, uint64_t done, uint64_t total)
{
    (void)total;
    run_state *s = user;
    ms_plugin_progress(s->ctx, s->done_before + done, s->total);
}

static void on_scan_log(void *user, int is_warning, const char *message)
{
    run_state *s = user;
    ms_plugin_log(s->ctx, is_warning ? MS_LOG_WARNING : MS_LOG_INFO, "%s", message);
}

static ms_status scan_options(run_state *s, ms_yara_scan_options *o)
{
    ms_yara_scan_options_init(o);
    int64_t n;
    ms_status st = ms_plugin_int(s->ctx, "max-hits", &n);
    if (st == MS_OK && n < 0)
        return ms_fail(MS_ERR_ARG, "--max-hits must be 0 or more, found %" PRId64, n);
    if (st == MS_OK)
        o->max_hits = (uint64_t)n;
    st = ms_plugin_int(s->ctx, "threads", &n);
    if (st == MS_OK && (n < 1 || n > 64))
        return ms_fail(MS_ERR_ARG, "--threads must be 1 to 64, found %" PRId64, n);
    if (st == MS_OK)
        o->threads = (unsigned)n;
    o->capped = on_capped;
    o->progress = on_progress;
    o->log = on_scan_log;
    o->user = s;
    return MS_OK;
}

static ms_status plan(run_state *s)
{
    ms_plugin_context *ctx = s->ctx;
    int physical = ms_plugin_flag(ctx, "physical"), kernel = ms_plugin_flag(ctx, "kernel");
    int filtered = ms_plugin_string_at(ctx, "pid", 0) != NULL || ms_plugin_string_at(ctx, "name", 0) != NULL;
    int processes = filtered || (!physical && !kernel);
    ms_status st = MS_OK;
    if (physical)
        st = plan_physical(s);
    if (st == MS_OK && (kernel || processes))
        st = ms_plugin_kernel(ctx, &s->kernel);
    if (st == MS_OK && kernel) {
        if (ms_kernel_modules(s->kernel, collect_module, s) != MS_OK)
            ms_plugin_log(ctx, MS_LOG_WARNING, "kernel modules not listed (%s); the Module column stays empty",
                          ms_last_error());
        if (s->nmodules > 1)
            qsort(s->modules, s->nmodules, sizeof *s->modules, compare_modules);
        st = plan_kernel(s);
    }
    if (st == MS_OK && processes) {
        size_t selected;
        st = plan_processes(s, filtered, &selected);
        if (st == MS_OK && filtered && selected == 0 && !physical && !kernel)
            st = ms_fail(MS_ERR_NOT_FOUND, "no process matches the --pid/--name given");
    }
    return st;
}

static ms_status run(ms_plugin_context *ctx)
{
    run_state s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    ms_yara_scan_options o;
    ms_status st = scan_options(&s, &o);
    if (st == MS_OK)
        st = load_rules(ctx, &s.rules);
    if (st == MS_OK)
        st = plan(&s);
    for (size_t i = 0; st == MS_OK && i < s.nscopes; i++)
        s.total += s.scopes[i].bytes;
    if (st == MS_OK)
        ms_plugin_log(ctx, MS_LOG_INFO, "scanning %" PRIu64 " bytes in %zu address spaces", s.total, s.nscopes);
    for (size_t i = 0; st == MS_OK && i < s.nscopes; i++) {
        scope *sc = &s.scopes[i];
        s.current = sc;
        st = ms_yara_scan_regions(s.rules, ms_plugin_image(ctx), sc->regions, sc->count, &o, emit_match, &s);
        if (st == MS_OK)
            st = s.status;
        s.done_before += sc->bytes;
    }
    free_scopes(&s);
    free(s.modules);
    ms_yara_rules_destroy(s.rules);
    return st;
}

static const char *const aliases[] = {"yarascan.YaraScan", "windows.yarascan", NULL};

const ms_plugin ms_plugin_yarascan = {
    "yarascan",
    aliases,
    "Scan memory with YARA rules",
    "Scans with YARA rules from --rules (a file, or every *.yar/*.yara file of a directory), --rule (inline "
    "source), --string (text as ASCII/UTF-8 and UTF-16LE) or --hex (a hex pattern). What is scanned: --physical "
    "(every physical byte the image holds; Offset is physical), --kernel (every mapped kernel address, Module "
    "names the driver), and the user space of processes chosen with --pid or --name, or of every process when no "
    "scope is given. Memory is scanned in 16 MiB chunks that overlap by 4 KiB (more for longer strings), so a "
    "condition sees one chunk at a time and filesize is the chunk's size. One row per string match, ascending "
    "by address within each address space; Value shows the match in brackets with 16 bytes either side. "
    "Each rule shows at most --max-hits rows per address space, with a warning naming the rule when it had "
    "more. Compiled rule files are cached in ~/.cache/memsift.",
    options,
    sizeof options / sizeof options[0],
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY,
    run,
};
