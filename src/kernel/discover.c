/* ms_kernel_open: from a physical image to a described kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "find_dtb.h"
#include "find_kernel.h"
#include "kdbg.h"
#include "eprocess_probe.h"
#include "kdversion.h"
#include "kernel_internal.h"
#include "kuser.h"
#include "module_identity.h"

static int is_kernel_va(const ms_kernel *k, uint64_t va)
{
    return k->info.pointer_size == 8 ? va >= 0xffff800000000000ull : (va >= 0x80000000ull && va <= 0xffffffffull);
}

/* A LIST_ENTRY head is plausible when Flink->Blink points back at it. */
static int list_head_ok(ms_kernel *k, uint64_t head)
{
    uint64_t flink, back;
    if (head == 0 || !is_kernel_va(k, head) || ms_vspace_read_ptr(k->vs, head, &flink) != MS_OK)
        return 0;
    if (flink == head)
        return 1;
    return ms_vspace_read_ptr(k->vs, flink + k->info.pointer_size, &back) == MS_OK && back == head;
}

static ms_status open_vspace(ms_kernel *k)
{
    const ms_image_info *ii = ms_image_get_info(k->image);
    ms_dtb_result dtb;
    if (k->opts.dtb != 0) {
        ms_paging_mode mode = ii->header.machine_type == MS_MACHINE_I386
                                  ? (ii->header.pae_enabled == 0 ? MS_PAGING_X86 : MS_PAGING_PAE)
                                  : MS_PAGING_X64;
        dtb = (ms_dtb_result){mode, k->opts.dtb, "given by the user"};
    } else {
        ms_status st = ms_find_dtb(k->image, !k->opts.ignore_header_hints, k->profiles, &dtb);
        if (st != MS_OK)
            return st;
    }
    ms_status st = ms_vspace_create(k->image, dtb.mode, dtb.dtb, &k->vs);
    if (st != MS_OK)
        return st;
    k->info.paging = dtb.mode;
    k->info.dtb = dtb.dtb;
    k->info.dtb_source = dtb.source;
    k->info.pointer_size = ms_vspace_pointer_size(k->vs);
    return MS_OK;
}

static int kernel_base_from_modules(ms_kernel *k, uint64_t list, uint64_t *base)
{
    uint64_t first;
    if (!list_head_ok(k, list) || ms_vspace_read_ptr(k->vs, list, &first) != MS_OK)
        return 0;
    /* The first LDR_DATA_TABLE_ENTRY in load order is the kernel's. */
    uint64_t dll_base;
    if (ms_vspace_read_ptr(k->vs, first + (k->info.pointer_size == 8 ? 0x30 : 0x18), &dll_base) != MS_OK)
        return 0;
    ms_vspace_pe_reader r = {k->vs, dll_base};
    ms_pe pe;
    if (ms_pe_parse(ms_vspace_pe_read, &r, &pe) == MS_OK && !ms_is_kernel_pe(&pe))
        return 0;
    *base = dll_base;
    return 1;
}

static ms_status find_kernel_base(ms_kernel *k)
{
    const ms_dump_header *h = &ms_image_get_info(k->image)->header;
    uint64_t base = 0;
    ms_kdbg kdbg;
    if (k->opts.kernel_base != 0) {
        base = k->opts.kernel_base;
        k->info.kernel_base_source = "given by the user";
    } else if (!k->opts.ignore_header_hints && h->has_header &&
               kernel_base_from_modules(k, h->ps_loaded_module_list, &base)) {
        k->info.kernel_base_source = "PsLoadedModuleList from the crash dump header";
    } else if (!k->opts.ignore_header_hints && h->has_header && h->kd_debugger_data_block != 0 &&
               ms_kdbg_read(k->vs, h->kd_debugger_data_block, NULL, &kdbg) == MS_OK) {
        base = kdbg.kern_base;
        k->info.kernel_base_source = "KDBG from the crash dump header";
    } else if (ms_find_kernel_scan(k->vs, &base) == MS_OK) {
        k->info.kernel_base_source = "PE image scan of kernel space";
    } else {
        char why[512];
        snprintf(why, sizeof why, "%s", ms_last_error());
        uint64_t kdbg_va;
        if (ms_find_kernel_by_kdbg(k->vs, &base, &kdbg_va) != MS_OK) {
            char also[512];
            snprintf(also, sizeof also, "%s", ms_last_error());
            return ms_fail(MS_ERR_NOT_FOUND, "%s; %s", why, also);
        }
        k->info.kernel_base_source = "KDBG found in physical memory (the kernel's headers are not in the image)";
        k->kdbg_found = kdbg_va;
    }
    k->info.kernel_base = base;
    return MS_OK;
}

static void read_kernel_identity(ms_kernel *k, ms_pe *pe, int *have_pe)
{
    k->kernel_reader = (ms_vspace_pe_reader){k->vs, k->info.kernel_base};
    *have_pe = ms_pe_parse(ms_vspace_pe_read, &k->kernel_reader, pe) == MS_OK;
    if (!*have_pe) {
        ms_kernel_log(k, MS_KLOG_WARNING, "the kernel's PE headers at 0x%llx are not readable (paged out?): %s",
                      (unsigned long long)k->info.kernel_base, ms_last_error());
        return;
    }
    k->info.kernel_size = pe->size_of_image;
    ms_module_identify(k->vs, k->info.kernel_base, pe->size_of_image, &k->info.pdb, k->info.file_version,
                       sizeof k->info.file_version);
}

/* The build number, from the most direct source available. */
static void find_build(ms_kernel *k, const ms_kuser *ku, const ms_pe *pe, int have_pe)
{
    ms_kdversion kv;
    int have_kv = have_pe && ms_kdversion_scan(k->vs, k->info.kernel_base, pe, &kv) == MS_OK;
    if (have_kv)
        k->info.kd_version_block = kv.address;
    uint32_t rva, value;
    if (have_pe && ms_pe_export_find(pe, "NtBuildNumber", &rva) == MS_OK &&
        ms_vspace_read_u32(k->vs, k->info.kernel_base + rva, &value) == MS_OK && (value & 0xffff) >= 2195 &&
        (value & 0xffff) < 60000) {
        /* The top nibble marks free (0xF) or checked (0xC) builds. */
        k->info.build = value & 0xffff;
        k->info.build_source = "NtBuildNumber export";
        return;
    }
    if (ku->nt_build != 0) {
        k->info.build = ku->nt_build;
        k->info.build_source = "KUSER_SHARED_DATA";
        return;
    }
    if (k->info.file_version[0] != '\0') {
        unsigned a, b, c;
        if (sscanf(k->info.file_version, "%u.%u.%u", &a, &b, &c) == 3 && c >= 2195 && c < 60000) {
            k->info.build = c;
            k->info.build_source = "kernel file version";
            return;
        }
    }
    if (have_kv) {
        k->info.build = kv.minor;
        k->info.build_source = "KdVersionBlock";
        return;
    }
    const ms_dump_header *h = &ms_image_get_info(k->image)->header;
    if (h->has_header && h->minor_version >= 2195 && h->minor_version < 60000) {
        k->info.build = h->minor_version;
        k->info.build_source = "crash dump header";
        return;
    }
    /* Last resort: the release's first build for the NT version. */
    static const struct { uint32_t major, minor, build; } releases[] = {
        {5, 1, 2600}, {5, 2, 3790}, {6, 0, 6001}, {6, 1, 7601}, {6, 2, 9200}, {6, 3, 9600}, {10, 0, 10240}};
    for (size_t i = 0; i < sizeof releases / sizeof releases[0]; i++)
        if (releases[i].major == ku->nt_major && releases[i].minor == ku->nt_minor) {
            k->info.build = releases[i].build;
            k->info.build_source = "NT version (build guessed)";
            ms_kernel_log(k, MS_KLOG_WARNING, "the build number was not found; assuming %u for NT %u.%u",
                          releases[i].build, ku->nt_major, ku->nt_minor);
            return;
        }
}

static void choose_profile(ms_kernel *k)
{
    /* An exact PDB match beats a build-range match. */
    for (size_t i = 0; i < ms_profile_db_count(k->profiles); i++) {
        const ms_profile *p = ms_profile_db_at(k->profiles, i);
        const char *guid = ms_profile_pdb_guid(p);
        if (strcmp(ms_profile_module(p), "nt") == 0 && guid != NULL && k->info.pdb.guid[0] != '\0' &&
            strcasecmp(guid, k->info.pdb.guid) == 0 && ms_profile_pdb_age(p) == k->info.pdb.age) {
            k->profile = p;
            k->info.profile_exact = 1;
            k->profile_same_pdb = 1;
            break;
        }
    }
    if (k->profile == NULL) {
        int exact = 0;
        if (ms_profile_db_find(k->profiles, "nt", k->info.pointer_size, k->info.build, &k->profile, &exact) != MS_OK) {
            ms_kernel_log(k, MS_KLOG_WARNING, "no kernel profile for %u-bit Windows", k->info.pointer_size * 8);
            return;
        }
        k->info.profile_exact = exact;
        if (!exact)
            ms_kernel_log(k, MS_KLOG_WARNING, "no kernel profile covers build %u; using %s (builds %u-%u) instead",
                          k->info.build, ms_profile_name(k->profile), ms_profile_build_min(k->profile),
                          ms_profile_build_max(k->profile));
    }
    snprintf(k->info.profile, sizeof k->info.profile, "%s", ms_profile_name(k->profile));
}

/* A symbol's VA, only when the profile was derived from this very kernel. */
static int exact_symbol(ms_kernel *k, const char *name, uint64_t *va)
{
    uint64_t rva;
    const char *guid = k->profile ? ms_profile_pdb_guid(k->profile) : NULL;
    if (guid == NULL || strcasecmp(guid, k->info.pdb.guid) != 0 || ms_profile_symbol(k->profile, name, &rva) != MS_OK)
        return 0;
    *va = k->info.kernel_base + rva;
    return 1;
}

static int read_keys(ms_kernel *k, uint64_t never_va, uint64_t always_va, uint64_t flag_va, ms_kdbg_keys *keys)
{
    keys->encoded_flag_va = flag_va;
    return ms_vspace_read_u64(k->vs, never_va, &keys->wait_never) == MS_OK &&
           ms_vspace_read_u64(k->vs, always_va, &keys->wait_always) == MS_OK;
}

static void find_kdbg(ms_kernel *k, const ms_pe *pe, int have_pe, ms_kdbg *kdbg, int *have_kdbg)
{
    const ms_dump_header *h = &ms_image_get_info(k->image)->header;
    ms_kdbg_keys keys;
    int have_keys = 0;
    uint64_t kdbg_va = 0;
    uint64_t never, always, flag;

    if (k->info.pointer_size == 8 && exact_symbol(k, "KiWaitNever", &never) &&
        exact_symbol(k, "KiWaitAlways", &always) && exact_symbol(k, "KdpDataBlockEncoded", &flag) &&
        exact_symbol(k, "KdDebuggerDataBlock", &kdbg_va))
        have_keys = read_keys(k, never, always, flag, &keys);
    if (!have_keys && have_pe && k->info.pointer_size == 8 && k->info.build >= 9200) {
        ms_kdbg_code code;
        if (ms_kdbg_find_code(k->vs, k->info.kernel_base, pe, &code) == MS_OK) {
            kdbg_va = code.kdbg;
            have_keys = read_keys(k, code.wait_never, code.wait_always, code.encoded_flag, &keys);
        } else {
            ms_kernel_log(k, MS_KLOG_DEBUG, "%s", ms_last_error());
        }
    }
    if (kdbg_va == 0 && k->kdbg_found != 0)
        kdbg_va = k->kdbg_found;
    if (kdbg_va == 0 && !k->opts.ignore_header_hints && h->has_header)
        kdbg_va = h->kd_debugger_data_block;
    *have_kdbg = kdbg_va != 0 && ms_kdbg_read(k->vs, kdbg_va, have_keys ? &keys : NULL, kdbg) == MS_OK;
    if (!*have_kdbg && have_pe)
        *have_kdbg = ms_kdbg_scan_image(k->vs, k->info.kernel_base, pe, kdbg) == MS_OK;
    if (*have_kdbg) {
        k->info.kdbg = kdbg->address;
        k->info.kdbg_encoded = kdbg->encoded;
    }
}

/* System's EPROCESS from the PsInitialSystemProcess export; its links' Blink
 * is the list head. */
static int process_head_from_system(ms_kernel *k, const ms_pe *pe, uint64_t *head)
{
    uint32_t rva;
    uint64_t system, blink;
    if (k->ep.links < 0 || ms_pe_export_find(pe, "PsInitialSystemProcess", &rva) != MS_OK ||
        ms_vspace_read_ptr(k->vs, k->info.kernel_base + rva, &system) != MS_OK ||
        ms_vspace_read_ptr(k->vs, system + (uint64_t)k->ep.links + k->info.pointer_size, &blink) != MS_OK)
        return 0;
    *head = blink;
    return list_head_ok(k, blink);
}

static void find_list_heads(ms_kernel *k, const ms_pe *pe, int have_pe, const ms_kdbg *kdbg, int have_kdbg)
{
    const ms_dump_header *h = &ms_image_get_info(k->image)->header;
    int hints = !k->opts.ignore_header_hints && h->has_header;
    uint64_t va;
    uint32_t rva;

    if (hints && list_head_ok(k, h->ps_active_process_head)) {
        k->info.ps_active_process_head = h->ps_active_process_head;
        k->info.ps_active_process_head_source = "crash dump header";
    } else if (have_kdbg && list_head_ok(k, kdbg->ps_active_process_head)) {
        k->info.ps_active_process_head = kdbg->ps_active_process_head;
        k->info.ps_active_process_head_source = "KDBG";
    } else if (exact_symbol(k, "PsActiveProcessHead", &va) && list_head_ok(k, va)) {
        k->info.ps_active_process_head = va;
        k->info.ps_active_process_head_source = "profile symbol";
    } else if (have_pe && process_head_from_system(k, pe, &va)) {
        k->info.ps_active_process_head = va;
        k->info.ps_active_process_head_source = "PsInitialSystemProcess export";
    } else {
        ms_kernel_log(k, MS_KLOG_WARNING, "PsActiveProcessHead was not found");
    }

    if (hints && list_head_ok(k, h->ps_loaded_module_list)) {
        k->info.ps_loaded_module_list = h->ps_loaded_module_list;
        k->info.ps_loaded_module_list_source = "crash dump header";
    } else if (have_kdbg && list_head_ok(k, kdbg->ps_loaded_module_list)) {
        k->info.ps_loaded_module_list = kdbg->ps_loaded_module_list;
        k->info.ps_loaded_module_list_source = "KDBG";
    } else if (have_pe && ms_pe_export_find(pe, "PsLoadedModuleList", &rva) == MS_OK &&
               list_head_ok(k, k->info.kernel_base + rva)) {
        k->info.ps_loaded_module_list = k->info.kernel_base + rva;
        k->info.ps_loaded_module_list_source = "PsLoadedModuleList export";
    } else if (exact_symbol(k, "PsLoadedModuleList", &va) && list_head_ok(k, va)) {
        k->info.ps_loaded_module_list = va;
        k->info.ps_loaded_module_list_source = "profile symbol";
    } else {
        ms_kernel_log(k, MS_KLOG_WARNING, "PsLoadedModuleList was not found");
    }
}

/* KiProcessorBlock holds one KPRCB pointer per processor, then NULLs. */
static uint32_t processors_from_kdbg(ms_kernel *k, const ms_kdbg *kdbg)
{
    uint32_t n = 0;
    for (; n < 64; n++) {
        uint64_t prcb;
        if (ms_vspace_read_ptr(k->vs, kdbg->ki_processor_block + (uint64_t)n * k->info.pointer_size, &prcb) != MS_OK ||
            !is_kernel_va(k, prcb))
            break;
    }
    return n;
}

/* Unless the profile was derived from this very kernel, its EPROCESS offsets
 * may be wrong: fields moved in later Windows 11 builds and even between
 * servicing updates of one build.  Probe the live process list and keep
 * what it validates. */
static void probe_eprocess(ms_kernel *k, const ms_pe *pe, int have_pe, int layouts_ok)
{
    if (layouts_ok && k->profile_same_pdb) {
        snprintf(k->info.eprocess_layout, sizeof k->info.eprocess_layout, "profile %s", k->info.profile);
        return;
    }
    uint64_t system = 0;
    uint32_t rva;
    if (have_pe && ms_pe_export_find(pe, "PsInitialSystemProcess", &rva) == MS_OK &&
        ms_vspace_read_ptr(k->vs, k->info.kernel_base + rva, &system) != MS_OK)
        system = 0;
    if (system == 0 && k->info.ps_active_process_head == 0) {
        snprintf(k->info.eprocess_layout, sizeof k->info.eprocess_layout, "profile %s (not probed: no System "
                 "process or list head)", k->info.profile);
        return;
    }
    ms_eprocess_layout probed;
    char how[160];
    if (ms_eprocess_probe(k->vs, k->info.pointer_size, system, k->info.ps_active_process_head, &probed, how,
                          sizeof how) != MS_OK) {
        ms_kernel_log(k, MS_KLOG_WARNING, "EPROCESS structure probe failed: %s", ms_last_error());
        snprintf(k->info.eprocess_layout, sizeof k->info.eprocess_layout, "profile %s (probe failed)",
                 k->info.profile);
        return;
    }
    ms_eprocess_layout *ep = &k->ep;
    /* The profile's unprobed fields stay only if the probe confirms its core offsets. */
    int agrees = layouts_ok && probed.links == ep->links && probed.pid == ep->pid && probed.name == ep->name;
    int64_t *have[] = {&ep->pid, &ep->links, &ep->ppid, &ep->name, &ep->create_time, &ep->exit_time,
                       &ep->threads, &ep->dtb, &ep->audit_name, &ep->peb};
    const int64_t found[] = {probed.pid, probed.links, probed.ppid, probed.name, probed.create_time,
                             probed.exit_time, probed.threads, probed.dtb, probed.audit_name, probed.peb};
    for (size_t i = 0; i < sizeof have / sizeof have[0]; i++)
        if (found[i] >= 0 || !agrees)
            *have[i] = found[i];
    if (!agrees)
        ep->size = 0;
    ms_kernel_log(k, agrees ? MS_KLOG_INFO : MS_KLOG_WARNING, "EPROCESS offsets %s the %s profile: %s",
                  agrees ? "confirm" : "differ from", k->info.profile, how);
    snprintf(k->info.eprocess_layout, sizeof k->info.eprocess_layout, "%s", how);
    if (k->info.ps_active_process_head == 0 && have_pe) {
        uint64_t head;
        if (process_head_from_system(k, pe, &head)) {
            k->info.ps_active_process_head = head;
            k->info.ps_active_process_head_source = "PsInitialSystemProcess export";
        }
    }
}

static void find_processors(ms_kernel *k, const ms_pe *pe, int have_pe, const ms_kdbg *kdbg, int have_kdbg)
{
    const ms_dump_header *h = &ms_image_get_info(k->image)->header;
    uint32_t count = 0, rva;
    if (h->has_header && h->num_processors > 0 && h->num_processors <= 4096) {
        k->info.processors = h->num_processors;
        return;
    }
    if (k->info.nt_major >= 6 && ms_vspace_read_u32(k->vs, (k->info.pointer_size == 8 ? MS_KUSER_X64 : MS_KUSER_X86) +
                                                               MS_KUSER_ACTIVE_PROCESSORS,
                                                    &count) == MS_OK && count > 0 && count <= 4096) {
        k->info.processors = count;
        return;
    }
    uint8_t byte;
    /* KeNumberProcessors is a CCHAR on NT 5 and a ULONG later; its low byte serves both. */
    if (have_pe && ms_pe_export_find(pe, "KeNumberProcessors", &rva) == MS_OK &&
        ms_vspace_read(k->vs, k->info.kernel_base + rva, &byte, 1) == MS_OK && byte > 0)
        k->info.processors = byte;
    else if (have_kdbg && kdbg->ki_processor_block != 0)
        k->info.processors = processors_from_kdbg(k, kdbg);
}

typedef struct system_probe {
    ms_process system;
    int found;
} system_probe;

static int find_system(const ms_process *p, void *user)
{
    system_probe *s = user;
    if (p->pid == 4 || (p->pid == 8 && strcmp(p->name, "System") == 0)) {
        s->system = *p;
        s->found = 1;
        return 1;
    }
    return 0;
}

/* Report (and use) the System process's DTB, which is what analysts call the
 * kernel DTB, when discovery started from another process's tables. */
static void prefer_system_dtb(ms_kernel *k)
{
    system_probe s = {.found = 0};
    if (k->info.ps_active_process_head == 0 || ms_kernel_processes(k, find_system, &s) != MS_OK || !s.found)
        return;
    uint64_t dtb = s.system.dtb;
    if (k->info.paging == MS_PAGING_PAE)
        dtb &= 0xffffffe0ull;
    else
        dtb &= ~0xfffull;
    if (dtb == 0 || dtb == k->info.dtb)
        return;
    ms_vspace *vs;
    if (ms_vspace_create(k->image, k->info.paging, dtb, &vs) != MS_OK)
        return;
    ms_kuser ku;
    if (ms_kuser_read(vs, &ku) != MS_OK) {
        ms_vspace_destroy(vs);
        return;
    }
    ms_vspace_destroy(k->vs);
    k->vs = vs;
    k->kernel_reader.vs = vs;
    k->info.dtb = dtb;
    k->info.dtb_source = "System process (after the first DTB found)";
}

ms_status ms_kernel_open(ms_image *image, const ms_kernel_options *opts, ms_kernel **out)
{
    if (image == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_kernel_open needs an image and an out-parameter");
    ms_kernel *k = calloc(1, sizeof *k);
    if (k == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory opening the kernel");
    k->image = image;
    if (opts != NULL)
        k->opts = *opts;
    ms_status st = MS_OK;
    if (k->opts.profiles != NULL) {
        k->profiles = k->opts.profiles;
    } else {
        st = ms_profile_db_create(&k->profiles);
        k->own_profiles = st == MS_OK;
    }
    if (st == MS_OK)
        st = open_vspace(k);
    ms_kuser ku;
    if (st == MS_OK)
        st = ms_kuser_read(k->vs, &ku);
    if (st == MS_OK) {
        k->info.nt_major = ku.nt_major;
        k->info.nt_minor = ku.nt_minor;
        k->info.system_time = ku.system_time;
        st = find_kernel_base(k);
    }
    if (st != MS_OK) {
        ms_kernel_close(k);
        return st;
    }
    if (k->info.system_time == 0)
        k->info.system_time = ms_image_get_info(image)->header.system_time;

    ms_pe pe;
    int have_pe;
    read_kernel_identity(k, &pe, &have_pe);
    find_build(k, &ku, &pe, have_pe);
    choose_profile(k);
    int layouts_ok = ms_kernel_resolve_layouts(k) == MS_OK;
    if (!layouts_ok)
        ms_kernel_log(k, MS_KLOG_WARNING, "%s", ms_last_error());
    ms_kdbg kdbg;
    int have_kdbg;
    find_kdbg(k, &pe, have_pe, &kdbg, &have_kdbg);
    find_list_heads(k, &pe, have_pe, &kdbg, have_kdbg);
    probe_eprocess(k, &pe, have_pe, layouts_ok);
    find_processors(k, &pe, have_pe, &kdbg, have_kdbg);
    prefer_system_dtb(k);
    *out = k;
    return MS_OK;
}
